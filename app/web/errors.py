"""One JSON error shape for every failure: {"error": {"code": ..., "message": ...}}."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from bot.domain import Forbidden, InvalidInput, KesherError, NotFound, Overloaded, ProviderError

log = logging.getLogger(__name__)

_STATUS: dict[type[KesherError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    Forbidden: 403,
    ProviderError: 502,
}


class ApiError(KesherError):
    """An error with an HTTP status, raised by the web layer itself."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ):
        super().__init__(message, code=code)
        self.status = status
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, error.headers)

    @app.exception_handler(Overloaded)
    async def _overloaded(_: Request, error: Overloaded) -> JSONResponse:
        return error_response(
            503, error.code, error.message, {"Retry-After": str(math.ceil(error.retry_after))}
        )

    @app.exception_handler(KesherError)
    async def _domain(_: Request, error: KesherError) -> JSONResponse:
        status = next((s for kind, s in _STATUS.items() if isinstance(error, kind)), 400)
        return error_response(status, error.code, error.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}"
            + (f" ({e['ctx']['error']})" if e["type"] == "json_invalid" else "")
            for e in error.errors()
        )
        return error_response(422, "invalid_request", problems or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(error.status_code, code, str(error.detail))

    @app.exception_handler(TimeoutError)
    async def _busy(request: Request, error: TimeoutError) -> JSONResponse:
        log.warning("timed out on %s %s: %s", request.method, request.url.path, error)
        return error_response(
            503, "busy", "the conversation is busy; try again shortly", {"Retry-After": "2"}
        )

    @app.exception_handler(DBAPIError)
    @app.exception_handler(RedisError)
    @app.exception_handler(OSError)
    async def _unavailable(request: Request, error: Exception) -> JSONResponse:
        log.error("storage unavailable on %s %s: %r", request.method, request.url.path, error)
        return error_response(
            503,
            "storage_unavailable",
            "the message could not be stored; try again later",
            {"Retry-After": "5"},
        )

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        """The caller hung up before its body came (a provider that gave up waiting): nothing
        was stored, and the provider sends it again."""
        log.info("the client left before %s %s was read", request.method, request.url.path)
        return error_response(400, "client_disconnected", "the request ended before its body")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "something went wrong on our side")
