"""Whatever arrives, the answer is a clear 4xx JSON error or a success: never a 5xx, never a trace."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.bootstrap import Runtime, build
from app.web.app import create_app
from bot.accounts.businesses import create_business
from tests.integration.conftest import _settings

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from("שָׁלוֹם😡\u200f\u200d"),
    max_size=60,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
SANDBOX_BODY = st.fixed_dictionaries(
    {},
    optional={
        "customer": JSON | TEXT,
        "text": JSON | TEXT,
        "choice": JSON | TEXT,
        "message_id": JSON | TEXT,
    },
)
CUSTOMER_BODY = st.fixed_dictionaries(
    {},
    optional={
        "external_id": JSON | TEXT,
        "name": JSON | TEXT,
        "phone": JSON | st.from_regex(r"\+?[0-9 ()-]{0,16}", fullmatch=True),
        "language": JSON | st.sampled_from(["he", "en", "fr", "עברית", ""]),
        "timezone": JSON | st.sampled_from(["Asia/Jerusalem", "UTC", "Nowhere/None"]),
        "attributes": JSON,
    },
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def app_and_key(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.conftest import blocking

    directory = tmp_path_factory.mktemp("hostile")
    runtime: Runtime = build(_settings(database_url=f"sqlite+aiosqlite:///{directory}/k.db"))

    async def prepare() -> str:
        await runtime.start()
        async with runtime.services.uow() as uow:
            _, key = await create_business(
                uow, "fuzz", name="Fuzz", sandbox=True, now=runtime.services.clock.now()
            )
            await uow.commit()
        return key

    key = blocking(prepare())
    yield create_app(runtime, manage_runtime=False), key


def _checked(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)


async def _post(app: Any, path: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as http:
        return await http.post(path, content=content, headers=headers)


@FUZZ
@given(body=SANDBOX_BODY)
async def test_any_json_body_to_the_sandbox_gets_a_clear_answer(app_and_key, body: dict) -> None:  # type: ignore[no-untyped-def]
    app, _ = app_and_key
    content = json.dumps(body, ensure_ascii=False).encode()
    _checked(
        await _post(
            app,
            "/api/v1/fuzz/sandbox/messages",
            content=content,
            headers={"content-type": "application/json"},
        )
    )


@FUZZ
@given(content=st.binary(max_size=300))
async def test_any_bytes_to_the_sandbox_get_a_clear_answer(app_and_key, content: bytes) -> None:  # type: ignore[no-untyped-def]
    app, _ = app_and_key
    _checked(await _post(app, "/api/v1/fuzz/sandbox/messages", content=content, headers={}))


@FUZZ
@given(body=CUSTOMER_BODY)
async def test_any_customer_body_gets_a_clear_answer(app_and_key, body: dict) -> None:  # type: ignore[no-untyped-def]
    app, key = app_and_key
    content = json.dumps(body, ensure_ascii=False).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
    _checked(await _post(app, "/api/v1/fuzz/customers", content=content, headers=headers))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/fuzz/customers", r'{"external_id": "s1", "attributes": {"k": "\ud800"}}'),
        ("/api/v1/fuzz/customers", r'{"external_id": "s2", "attributes": {"\udc00": 1}}'),
        ("/api/v1/fuzz/sandbox/messages", r'{"customer": "s3", "text": "hi \uDBFF"}'),
        ("/api/v1/fuzz/events", r'{"customer": "s4", "type": "purchase", "data": ["\ud800"]}'),
    ],
)
async def test_a_lone_surrogate_in_an_api_body_is_refused_and_nothing_is_stored(  # type: ignore[no-untyped-def]
    app_and_key, path: str, body: str
) -> None:
    """JSON may escape it, but no database or UTF-8 export can hold it."""
    app, key = app_and_key
    headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}

    refused = await _post(app, path, content=body.encode(), headers=headers)

    _checked(refused)
    assert refused.status_code in (400, 422)  # the sandbox reads its own body: 400 like a webhook
    assert "lone surrogate" in refused.json()["error"]["message"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as http:
        listed = await http.get("/api/v1/fuzz/customers", headers=headers)
    assert listed.status_code == 200


async def test_an_escaped_surrogate_pair_is_one_character_and_kept(app_and_key) -> None:  # type: ignore[no-untyped-def]
    app, key = app_and_key
    headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
    body = r'{"external_id": "pair", "name": "\ud83d\ude00 דנה"}'

    made = await _post(app, "/api/v1/fuzz/customers", content=body.encode(), headers=headers)

    assert made.status_code in (200, 201), made.text
    assert made.json()["name"] == "😀 דנה"


@FUZZ
@given(
    content=st.binary(max_size=300) | TEXT.map(lambda t: ("external_id,name,phone\n" + t).encode())
)
async def test_any_csv_upload_gets_a_clear_answer(app_and_key, content: bytes) -> None:  # type: ignore[no-untyped-def]
    app, key = app_and_key
    headers = {"content-type": "text/csv", "authorization": f"Bearer {key}"}
    _checked(await _post(app, "/api/v1/fuzz/customers/import", content=content, headers=headers))


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/api/v1/{}/customers",
            "/api/v1/{}/sandbox/messages?customer={}",
            "/api/v1/{}/customers/{}/timeline",
        ]
    ),
    part=TEXT,
)
async def test_any_path_segment_gets_a_clear_answer(app_and_key, path: str, part: str) -> None:  # type: ignore[no-untyped-def]
    app, key = app_and_key
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as http:
        url = path.format(_quote(part), _quote(part))
        _checked(await http.get(url, headers={"authorization": f"Bearer {key}"}))


def _quote(part: str) -> str:
    from urllib.parse import quote

    return quote(part, safe="")


async def test_a_caller_that_hangs_up_before_its_body_is_not_an_error(  # type: ignore[no-untyped-def]
    app_and_key, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = app_and_key
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/fuzz/sandbox/messages",
        "raw_path": b"/api/v1/fuzz/sandbox/messages",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"20")],
        "client": ("127.0.0.1", 5000),
        "server": ("kesher.test", 80),
    }
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)

    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
