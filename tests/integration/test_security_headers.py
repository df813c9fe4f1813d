"""Every response carries the security headers (CSP, no framing, nosniff, referrer policy, and
HSTS when the public URL is https), and no page has inline script for the policy to forbid."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.bootstrap import Runtime
from app.web.app import create_app
from tests.integration.conftest import SQLITE_ONLY, running

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"
PATHS = [
    ("GET", "/healthz"),
    ("GET", "/inbox/login"),
    ("GET", "/sandbox?business=nobody"),
    ("GET", "/api/v1/nobody/customers"),
    ("GET", "/no/such/page"),
    ("POST", "/webhooks/whatsapp/nobody"),
    ("GET", "/static/requests.js"),
]


def _directives(policy: str) -> dict[str, str]:
    return {
        part.split()[0]: " ".join(part.split()[1:])
        for part in (p.strip() for p in policy.split(";"))
        if part
    }


@SQLITE_ONLY  # headers are set above the store
@pytest.mark.parametrize(("method", "path"), PATHS)
async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    answer = await client.request(method, path)

    policy = _directives(answer.headers["content-security-policy"])
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in answer.headers  # the public URL is http here


@SQLITE_ONLY
async def test_a_refused_oversized_body_still_carries_the_headers(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    too_big = b"x" * (runtime.settings.max_body_bytes + 1)

    answer = await client.post("/webhooks/telegram/nobody", content=too_big)

    assert answer.status_code == 413
    assert answer.headers["x-frame-options"] == "DENY"


@pytest.fixture(params=["sqlite-memory"])
async def https(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for built in running(request, tmp_path, public_url="https://kesher.example.com"):
        transport = httpx.ASGITransport(app=create_app(built, manage_runtime=False))
        async with httpx.AsyncClient(transport=transport, base_url="https://kesher.test") as http:
            yield http


async def test_hsts_is_sent_when_the_public_url_is_https(https: httpx.AsyncClient) -> None:
    answer = await https.get("/inbox/login")

    assert answer.headers["strict-transport-security"] == "max-age=31536000"


@SQLITE_ONLY
async def test_the_api_reference_page_runs_under_the_same_policy_as_every_page(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/docs")

    assert answer.status_code == 200
    policy = _directives(answer.headers["content-security-policy"])
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=|javascript:|hx-on", re.I)


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_no_template_has_inline_script_or_event_handlers(template: Path) -> None:
    page = template.read_text(encoding="utf-8")

    assert INLINE_SCRIPT.findall(page) == []
    assert HANDLER.findall(page) == []
