"""The other side of the channel benchmarks, each run as its own process (its own core's worth
of Python, not sharing the load generator's).

    python -m bench.channel_servers fake-telegram --port P [--bot-rate R] [--chat-rate R]
    python -m bench.channel_servers fake-twilio --port P [--mps M]
    python -m bench.channel_servers fake-ollama --port P
    python -m bench.channel_servers echo-bot --port P --api URL
    python -m bench.channel_servers bare-twilio --port P --public-url URL

The fakes are tests/fakes' provider APIs (with their optional enforced limits) plus two routes
for the bench: GET /_bench/count (messages accepted, calls refused with 429, calls failed on
purpose; the Ollama fake: chats asked and answered), GET /_bench/calls (when each accepted and each refused message came, and to whom) and
POST /_bench/faults `{"rate": 0.2}` (that share of sends fails from now on, as
tests/fakes/faults.py says; 0 stops it); the Ollama fake takes POST /_bench/delay
`{"seconds": 5}` (every answer that late from now on). The echo bot is the minimal
python-telegram-bot webhook bot (`Application` without an updater, replies through the same
fake Bot API); the bare endpoint only checks Twilio's signature and answers empty TwiML.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters
from twilio.request_validator import RequestValidator

from tests.fakes import ollama_api, telegram_api, twilio_api

WEBHOOK_SECRET = "bench-webhook-secret"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _serve(app: Any, port: int) -> None:
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _bench_routes(
    fake: telegram_api.FakeTelegram | twilio_api.FakeTwilio,
    count: Callable[[Request], Awaitable[JSONResponse]],
    calls: Callable[[Request], Awaitable[JSONResponse]],
) -> list[Route]:
    async def faults(request: Request) -> JSONResponse:
        fake.faults.rate = float((await request.json())["rate"])
        return JSONResponse({"rate": fake.faults.rate})

    return [
        Route("/_bench/count", count),
        Route("/_bench/calls", calls),
        Route("/_bench/faults", faults, methods=["POST"]),
    ]


def fake_telegram(port: int, *, bot_rate: int | None, chat_rate: int | None) -> None:
    fake = telegram_api.FakeTelegram(bot_rate=bot_rate, chat_rate=chat_rate)

    def accepted() -> list[telegram_api.Call]:
        refused = {id(call) for call in [*fake.limited, *fake.faulted]}
        return [c for c in fake.calls if c.method == "sendMessage" and id(c) not in refused]

    async def count(_: Request) -> JSONResponse:
        return JSONResponse(
            {"sent": len(accepted()), "limited": len(fake.limited), "faulted": len(fake.faulted)}
        )

    async def calls(_: Request) -> JSONResponse:
        sent = [[call.at, str(call.params.get("chat_id"))] for call in accepted()]
        refused = [[call.at, str(call.params.get("chat_id"))] for call in fake.limited]
        return JSONResponse({"sent": sent, "limited": len(fake.limited), "refused": refused})

    _serve(Starlette(routes=[*_bench_routes(fake, count, calls), *telegram_api.routes(fake)]), port)


def fake_twilio(port: int, *, mps: int | None) -> None:
    fake = twilio_api.FakeTwilio(mps=mps)

    def accepted() -> list[twilio_api.Call]:
        refused = {id(call) for call in [*fake.limited, *fake.faulted]}
        return [c for c in fake.calls if id(c) not in refused]

    async def count(_: Request) -> JSONResponse:
        return JSONResponse(
            {"sent": len(accepted()), "limited": len(fake.limited), "faulted": len(fake.faulted)}
        )

    async def calls(_: Request) -> JSONResponse:
        sent = [[call.at, call.params.get("To", "")] for call in accepted()]
        refused = [[call.at, call.params.get("To", "")] for call in fake.limited]
        return JSONResponse({"sent": sent, "limited": len(fake.limited), "refused": refused})

    _serve(Starlette(routes=[*_bench_routes(fake, count, calls), *twilio_api.routes(fake)]), port)


def fake_ollama(port: int) -> None:
    fake = ollama_api.FakeOllama()

    async def count(_: Request) -> JSONResponse:
        return JSONResponse({"asked": len(fake.calls), "answered": fake.answered})

    async def delay(request: Request) -> JSONResponse:
        fake.delay = float((await request.json())["seconds"])
        return JSONResponse({"seconds": fake.delay})

    bench = [Route("/_bench/count", count), Route("/_bench/delay", delay, methods=["POST"])]
    _serve(Starlette(routes=[*bench, *ollama_api.routes(fake)]), port)


async def echo_bot(port: int, *, api: str) -> None:
    """python-telegram-bot's custom-webhook echo bot: updates go on the Application's queue."""
    application = (
        Application.builder().token(telegram_api.TOKEN).base_url(f"{api}/bot").updater(None).build()
    )

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))

    async def webhook(request: Request) -> Response:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), WEBHOOK_SECRET.encode()):
            return Response(status_code=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return Response()

    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/telegram", webhook, methods=["POST"])]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    async with application:
        await application.start()
        await server.serve()
        await application.stop()


def bare_twilio(port: int, *, public_url: str) -> None:
    """A FastAPI endpoint that only checks X-Twilio-Signature and answers empty TwiML."""
    app = FastAPI()
    validator = RequestValidator(twilio_api.AUTH_TOKEN)

    @app.post("/webhooks/whatsapp/{business}")
    async def inbound(request: Request, business: str) -> Response:
        form = await request.form()
        url = public_url.rstrip("/") + request.url.path
        signature = request.headers.get("x-twilio-signature", "")
        if not validator.validate(url, dict(form), signature):
            return Response(status_code=403)
        return Response(EMPTY_TWIML, media_type="application/xml")

    _serve(app, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "kind", choices=["fake-telegram", "fake-twilio", "fake-ollama", "echo-bot", "bare-twilio"]
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bot-rate", type=int)
    parser.add_argument("--chat-rate", type=int)
    parser.add_argument("--mps", type=int)
    parser.add_argument("--api", default="")
    parser.add_argument("--public-url", default="")
    options = parser.parse_args()
    if options.kind == "fake-telegram":
        fake_telegram(options.port, bot_rate=options.bot_rate, chat_rate=options.chat_rate)
    elif options.kind == "fake-twilio":
        fake_twilio(options.port, mps=options.mps)
    elif options.kind == "fake-ollama":
        fake_ollama(options.port)
    elif options.kind == "echo-bot":
        asyncio.run(echo_bot(options.port, api=options.api))
    else:
        bare_twilio(options.port, public_url=options.public_url)


if __name__ == "__main__":
    main()
