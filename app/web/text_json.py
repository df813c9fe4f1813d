"""JSON bodies of the REST API hold text only.

JSON can escape a lone UTF-16 surrogate ("\\ud800") that no UTF-8 file, database column or
export can hold; such a body is refused as malformed JSON (422, like any other), instead of
being stored and failing every later read of it. The webhooks keep their own rule: a provider
resends what is refused, so they store such text with the surrogate replaced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

# Only a body that escapes a surrogate can hold a lone one: the rest skip the second look.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


class TextJsonRequest(Request):
    async def json(self) -> Any:
        found = await super().json()
        if _ESCAPED_SURROGATE.search(await self.body()):
            try:
                json.dumps(found, ensure_ascii=False).encode()
            except UnicodeEncodeError:
                raise json.JSONDecodeError(
                    "a lone surrogate (\\ud800-\\udfff) is not text", "", 0
                ) from None
        return found


class TextJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def text_only(request: Request) -> Response:
            return await handler(TextJsonRequest(request.scope, request.receive))

        return text_only
