"""A small fake Ollama server on loopback: `/api/chat` answers with one tool call, the one the
request offers: RecordOpinion (`opinion`) or AnswerFromEntries (`answer`).

langchain-ollama's `ChatOllama` talks to it over real HTTP (`OLLAMA_HOST`), so Kesher's
second opinion runs exactly as against a local Ollama. The answer can be made to come late
(`delay` seconds), as a model on an overloaded machine would. Every request is kept in `calls`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.loopback import serve_app

CALM = {"score": 0.1, "wants_person": False, "reason": "a plain question", "topic": "hours"}


@dataclass
class FakeOllama:
    url: str = ""
    delay: float = 0.0
    opinion: dict[str, Any] = field(default_factory=lambda: dict(CALM))
    answer: dict[str, Any] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    answered: int = 0

    def reset(self) -> None:
        self.delay = 0.0
        self.opinion = dict(CALM)
        self.answer = {}
        self.calls.clear()
        self.answered = 0

    async def chat(self, request: Request) -> Response:
        """One streamed chunk, as Ollama streams: the tool call, done."""
        body = await request.json()
        self.calls.append(body)
        await asyncio.sleep(self.delay)
        self.answered += 1
        chunk = {
            "model": body.get("model", ""),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": self._call(body)}],
            },
            "done": True,
            "done_reason": "stop",
        }
        return Response(json.dumps(chunk) + "\n", media_type="application/x-ndjson")

    def _call(self, body: dict[str, Any]) -> dict[str, Any]:
        offered = [t["function"]["name"] for t in body.get("tools") or []]
        if "AnswerFromEntries" in offered:
            return {"name": "AnswerFromEntries", "arguments": self.answer}
        return {"name": "RecordOpinion", "arguments": self.opinion}


def routes(fake: FakeOllama) -> list[Route]:
    return [Route("/api/chat", fake.chat, methods=["POST"])]


def serve() -> tuple[FakeOllama, uvicorn.Server, threading.Thread]:
    """Start the fake on a free loopback port in a thread; stop with `server.should_exit`."""
    fake = FakeOllama()
    fake.url, server, thread = serve_app(Starlette(routes=routes(fake)))
    return fake, server, thread
