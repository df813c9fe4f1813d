"""Every operation in the app's own /openapi.json, called in-process by schemathesis with bodies,
parameters and headers generated from its schema: never a 5xx, never a trace, and a 4xx is the
one JSON error shape.

The calls carry the business's admin API key and name that business, so they get past the key
check and into each operation; the path segment itself is fuzzed in test_hostile_input.py.
Connecting Telegram talks to the fake Bot API on loopback. No operation is left out: the
webhooks are in the schema too (with no secret or signature they are refused; signed fuzzing is
in test_hostile_webhooks.py).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from app.bootstrap import Runtime, build
from app.web.app import create_app
from bot.accounts.businesses import create_business
from tests.integration.conftest import _settings

# Examples per operation and way of generating (valid, then invalid): 73 operations in about a
# minute on two cores (half that when nothing fails).
EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclasses.dataclass(frozen=True)
class Api:
    app: Any
    slug: str
    key: str

    def __repr__(self) -> str:
        return f"Api({self.slug!r})"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, _telegram_server, _twilio_server) -> Api:  # type: ignore[no-untyped-def]
    from tests.conftest import blocking

    directory = tmp_path_factory.mktemp("api-schema")
    runtime: Runtime = build(
        _settings(
            database_url=f"sqlite+aiosqlite:///{directory}/k.db",
            telegram_api_url=_telegram_server.url,
            twilio_api_url=_twilio_server.url,
        )
    )

    async def prepare() -> str:
        await runtime.start()
        async with runtime.services.uow() as uow:
            _, key = await create_business(
                uow, "schema", name="Schema", sandbox=True, now=runtime.services.clock.now()
            )
            await uow.commit()
        return key

    key = blocking(prepare())
    return Api(create_app(runtime, manage_runtime=False), "schema", key)


def _answered_clearly(response: Any) -> None:
    body = response.content.decode("utf-8", "replace")
    assert response.status_code < 500, body[:500]
    assert "Traceback" not in body
    if response.status_code >= 400:
        error = json.loads(body)["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)


# The operations in four parts, so that pytest-xdist's workers share them.
PARTS = 4


@pytest.mark.parametrize("part", range(PARTS), ids=lambda part: f"part {part + 1} of {PARTS}")
def test_no_operation_in_the_schema_answers_a_5xx_or_a_trace(api: Api, part: int) -> None:
    # schemathesis' own pytest loader (`from_fixture`) does not run on pytest 9, so each
    # operation's strategy is driven by Hypothesis here, and every failure is collected.
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: list[str] = []
    for operation in operations[part::PARTS]:
        for mode in GenerationMode:

            @EXAMPLES
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Any) -> None:
                if "business" in (case.path_parameters or {}):
                    case.path_parameters["business"] = api.slug
                _answered_clearly(case.call(headers={"Authorization": f"Bearer {api.key}"}))

            try:
                call()
            except Unsatisfiable:
                # No invalid request exists for an operation without parameters or a body.
                assert mode is GenerationMode.NEGATIVE
            except Exception as error:
                failures.append(f"{operation.label} ({mode.value}): {error!r}"[:2000])

    assert len(operations) >= 70
    assert not failures, "\n".join(failures)
