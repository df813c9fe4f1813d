"""Whatever a correctly signed provider sends, the webhooks answer without a 5xx or a trace.

The secret and the signatures are right, so every fuzzed body gets past the check and into the
parser and the pipeline: Telegram updates shaped from the recorded ones (../shared/fixtures/
telegram) with fields swapped for other types, Hebrew with niqqud, emoji and RTL marks, huge
numbers and nulls; bytes that are not JSON; Twilio form posts with any parameters. A delivery
sent again (the same update_id or MessageSid) is stored once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from twilio.request_validator import RequestValidator

from app.bootstrap import Runtime, build
from app.web.app import create_app
from bot.accounts.businesses import create_business
from bot.accounts.channels import connect_telegram, connect_whatsapp
from bot.domain import Business, ChannelName
from tests.fakes.telegram_api import TOKEN
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER
from tests.integration.conftest import _settings
from tests.integration.test_hostile_input import FUZZ, JSON, TEXT, _checked, _post

# Every test runs on the module's event loop, where the runtime and its clients were started.
pytestmark = pytest.mark.asyncio(loop_scope="module")

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "telegram"
PUBLIC = "https://kesher.example.com"
EMPTY_TWIML = "<Response></Response>"

HEBREW = st.text(
    alphabet=st.sampled_from(
        "שלום עולם ההזמנה לא הגיעה" + "ְֱֲֳִֵֶַָֹֻּׁׂ" + "😡🙏🏽👍\u200f\u200e\u202b\u202c\u200d"
    ),
    max_size=80,
)
# Integers past what a 64-bit column holds, and one past what a 128-character id column holds.
NUMBER = st.integers() | st.sampled_from([0, -1, 2**53, 2**63, -(2**63) - 1, 10**200])
VALUE = st.none() | st.booleans() | NUMBER | TEXT | HEBREW | JSON


def _recorded() -> list[dict[str, Any]]:
    updates: list[dict[str, Any]] = []
    for name in ("current_spec_examples.json", "official_webhooks_page_examples.json"):
        updates += json.loads((FIXTURES / name).read_text(encoding="utf-8"))["updates"].values()
    return updates


RECORDED = _recorded()


def _paths(value: Any, here: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every place in a JSON value, the value itself first."""
    yield here
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*here, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*here, index))


def _replaced(value: Any, path: tuple[str | int, ...], new: Any, *, delete: bool) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


@st.composite
def mutated_update(draw: st.DrawFn) -> Any:
    """A recorded update under a new update_id, its text in Hebrew, a few fields replaced by
    other types, removed, or nested deeper."""
    update: Any = json.loads(json.dumps(draw(st.sampled_from(RECORDED))))
    update["update_id"] = draw(st.integers(min_value=1, max_value=2**62))
    for kind in ("message", "edited_message"):
        if isinstance(update.get(kind), dict) and "text" in update[kind]:
            update[kind]["text"] = draw(HEBREW)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        paths = [path for path in _paths(update) if len(path) > 1]
        path = draw(st.sampled_from(paths))
        new = draw(VALUE | st.dictionaries(TEXT, VALUE, max_size=3).map(lambda d: {"x": d}))
        update = _replaced(update, path, new, delete=draw(st.booleans()))
    return update


UPDATE = mutated_update() | st.fixed_dictionaries(
    {"update_id": NUMBER | VALUE},
    optional={
        kind: JSON
        for kind in ("message", "edited_message", "callback_query", "my_chat_member", "poll")
    },
)


def _private_message(update_id: int, chat: int, words: str) -> dict[str, Any]:
    person = {"id": chat, "is_bot": False, "first_name": "נועה", "language_code": "he"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 7,
            "from": person,
            "chat": {"id": chat, "type": "private", "first_name": "נועה"},
            "date": 1735725600,
            "text": words,
        },
    }


FORM_VALUE = (
    TEXT
    | HEBREW
    | st.sampled_from(["", " ", "0", "1", "10", "-1", "²", "٣", "1e3", "9" * 40, "whatsapp:"])
    | st.from_regex(r"whatsapp:\+[0-9]{0,20}", fullmatch=True)
    # Past the 128 characters of a stored message id and the 255 of a stored address.
    | st.sampled_from(["SM" + "f" * 200, "whatsapp:+" + "9" * 300, "ש" * 2000])
    # Past the 4,300 digits Python turns into a number.
    | st.just("9" * 5000)
)
MESSAGE_FIELDS = (
    "MessageSid",
    "SmsMessageSid",
    "AccountSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaContentType0",
    "ButtonPayload",
    "ButtonText",
    "ProfileName",
    "WaId",
    "MessageType",
    "Latitude",
    "Longitude",
    "Label",
    "Address",
)
STATUS_FIELDS = (
    "MessageSid",
    "SmsSid",
    "MessageStatus",
    "SmsStatus",
    "ErrorCode",
    "ErrorMessage",
    "To",
    "From",
    "AccountSid",
)


def _form(fields: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    known = st.fixed_dictionaries({}, optional={name: FORM_VALUE for name in fields})
    return st.tuples(known, st.dictionaries(TEXT, FORM_VALUE, max_size=3)).map(
        lambda pair: {**pair[1], **pair[0]}
    )


class Webhooks:
    """The app with the connected business, and counts of what it stored."""

    def __init__(self, app: Any, runtime: Runtime, business: Business, secret: str) -> None:
        self.app, self.runtime, self.business, self.secret = app, runtime, business, secret

    def __repr__(self) -> str:
        # Hypothesis prints the arguments of a failing example; the app is not worth printing.
        return f"Webhooks({self.business.slug!r})"

    async def count(self, sql: str, **values: object) -> int:
        async with self.runtime.engine.connect() as connection:
            found = await connection.scalar(text(sql), {"business": self.business.id, **values})
        return int(found or 0)

    async def deliveries(self, channel: ChannelName, delivery_id: str) -> int:
        return await self.count(
            "SELECT count(*) FROM inbound_deliveries WHERE business_id = :business"
            " AND channel = :channel AND delivery_id = :delivery",
            channel=channel.value,
            delivery=delivery_id,
        )

    async def inbound_messages(self) -> int:
        return await self.count(
            "SELECT count(*) FROM messages WHERE business_id = :business AND direction = 'in'"
        )

    async def telegram(self, content: bytes) -> httpx.Response:
        headers = {
            "content-type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": self.secret,
        }
        return await _post(
            self.app, f"/webhooks/telegram/{self.business.slug}", content=content, headers=headers
        )

    async def twilio(self, path: str, params: dict[str, str]) -> httpx.Response:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + path, params)
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        return await _post(self.app, path, content=urlencode(params).encode(), headers=headers)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgres"])
async def webhooks(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    _telegram_server,
    _twilio_server,
):  # type: ignore[no-untyped-def]
    """One business with Telegram (the fake Bot API) and WhatsApp (the fake Twilio) connected,
    on SQLite and on PostgreSQL (whose columns, unlike SQLite's, have lengths)."""
    if request.param == "sqlite":
        directory = tmp_path_factory.mktemp("hostile-webhooks")
        database = f"sqlite+aiosqlite:///{directory}/k.db"
    else:
        database = request.getfixturevalue("postgres_database")
    runtime: Runtime = build(
        _settings(
            database_url=database,
            telegram_api_url=_telegram_server.url,
            twilio_api_url=_twilio_server.url,
            public_url=PUBLIC,
            # Telegram's per-bot pace would otherwise set the run's length, not the fuzzing.
            telegram_bot_rate=1000,
        )
    )
    await runtime.start()
    services = runtime.services
    async with services.uow() as uow:
        business, _ = await create_business(
            uow, f"fuzz-{uuid.uuid4().hex[:8]}", name="Fuzz", sandbox=True, now=services.clock.now()
        )
        await uow.commit()
    account = await connect_telegram(services, business, token=TOKEN, public_base=PUBLIC)
    await connect_whatsapp(
        services,
        business,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sender=SENDER,
        public_base=PUBLIC,
    )
    secret = account.secret("webhook_secret")
    yield Webhooks(create_app(runtime, manage_runtime=False), runtime, business, secret)
    await runtime.stop()


@FUZZ
@given(update=UPDATE)
async def test_any_telegram_update_with_the_right_secret_gets_a_clear_answer_and_replays_store_nothing(
    webhooks: Webhooks, update: Any
) -> None:
    content = json.dumps(update, ensure_ascii=False).encode()
    first = await webhooks.telegram(content)
    stored = await webhooks.inbound_messages()
    again = await webhooks.telegram(content)

    _checked(first)
    _checked(again)
    assert again.status_code == first.status_code
    if first.status_code == 200:
        assert first.json() == {"ok": True}
    assert await webhooks.inbound_messages() == stored


@FUZZ
@given(content=st.binary(max_size=300) | HEBREW.map(str.encode))
async def test_any_bytes_to_the_telegram_webhook_with_the_right_secret_get_a_clear_answer(
    webhooks: Webhooks, content: bytes
) -> None:
    response = await webhooks.telegram(content)

    _checked(response)
    assert response.status_code == 400


@FUZZ
@given(
    update_id=st.integers(min_value=1, max_value=10**12),
    words=HEBREW.filter(lambda words: not words.startswith("/")),
)
async def test_a_telegram_message_sent_twice_is_stored_once(
    webhooks: Webhooks, update_id: int, words: str
) -> None:
    # A chat of its own per update: replies to one chat are paced a second apart.
    chat = 10**9 + update_id
    content = json.dumps(_private_message(update_id, chat, words), ensure_ascii=False).encode()
    before = await webhooks.inbound_messages()
    seen = await webhooks.deliveries(ChannelName.TELEGRAM, str(update_id))
    responses = [await webhooks.telegram(content) for _ in range(3)]

    for response in responses:
        _checked(response)
        assert response.status_code == 200
    assert await webhooks.deliveries(ChannelName.TELEGRAM, str(update_id)) == 1
    assert await webhooks.inbound_messages() == before + (0 if seen else 1)


@pytest.mark.parametrize(
    "content",
    [
        b'{"update_id": 1' + b"1" * 5000 + b"}",  # more digits than Python makes a number of
        b"[" * 100_000 + b"]" * 100_000,  # deeper than Python's parser goes
    ],
    ids=["5000-digit number", "nested 100,000 deep"],
)
async def test_json_python_cannot_read_is_a_bad_request(webhooks: Webhooks, content: bytes) -> None:
    response = await webhooks.telegram(content)

    _checked(response)
    assert response.status_code == 400


async def test_a_telegram_update_nested_deep_inside_is_ignored(webhooks: Webhooks) -> None:
    deep = '{"x": ' * 600 + "1" + "}" * 600
    content = f'{{"update_id": 4242, "message": {{"message_id": 1, "extra": {deep}}}}}'.encode()
    before = await webhooks.inbound_messages()

    response = await webhooks.telegram(content)

    _checked(response)
    assert response.status_code == 200
    assert await webhooks.inbound_messages() == before


async def test_a_telegram_text_with_a_lone_surrogate_or_nul_is_stored_with_them_made_safe(
    webhooks: Webhooks,
) -> None:
    """JSON can escape what UTF-8 and PostgreSQL text cannot hold; the rest of the text is kept."""
    chat = 7_000_000_001
    update = _private_message(4_000_000_001, chat, "TEXT")
    update["message"]["from"]["first_name"] = "PLACE"
    raw = json.dumps(update, ensure_ascii=False)
    raw = raw.replace("TEXT", "שָׁלוֹם \\ud800 \\u0000 😀 \\ud83d\\ude00")
    raw = raw.replace('"first_name": "PLACE"', '"first_name": "\\udc00Dana"')

    response = await webhooks.telegram(raw.encode())

    _checked(response)
    assert response.status_code == 200
    stored = await webhooks.count(
        "SELECT count(*) FROM messages WHERE business_id = :business AND text = :text",
        text="שָׁלוֹם \ufffd  😀 😀",
    )
    assert stored == 1


async def test_a_button_tapped_in_a_group_or_by_a_bot_is_ignored(webhooks: Webhooks) -> None:
    def tap(update_id: int, chat: dict[str, Any], *, bot: bool) -> bytes:
        person = {"id": 5150, "is_bot": bot, "first_name": "Grp"}
        query = {
            "id": f"cb{update_id}",
            "from": person,
            "chat_instance": "1",
            "data": "nps:9",
            "message": {"message_id": 3, "date": 1735725600, "chat": chat, "text": "?"},
        }
        return json.dumps({"update_id": update_id, "callback_query": query}).encode()

    before = await webhooks.inbound_messages()
    group = await webhooks.telegram(
        tap(4_100_000_001, {"id": -100123456, "type": "supergroup", "title": "G"}, bot=False)
    )
    robot = await webhooks.telegram(
        tap(4_100_000_002, {"id": 5150, "type": "private", "first_name": "Grp"}, bot=True)
    )

    assert group.status_code == robot.status_code == 200
    assert await webhooks.inbound_messages() == before


# Half the fuzzed messages have well-formed identifying fields, so they reach the pipeline.
CORE = st.fixed_dictionaries(
    {
        "MessageSid": st.from_regex(r"(SM|MM)[0-9a-fA-F]{32}", fullmatch=True),
        "AccountSid": st.just(ACCOUNT_SID),
        "From": st.from_regex(r"whatsapp:\+9725[0-9]{8}", fullmatch=True),
    }
)


@FUZZ
@given(
    params=st.tuples(_form(MESSAGE_FIELDS), st.none() | CORE).map(
        lambda p: {**p[0], **(p[1] or {})}
    )
)
async def test_any_signed_whatsapp_message_gets_a_clear_answer_and_replays_store_nothing(
    webhooks: Webhooks, params: dict[str, str]
) -> None:
    path = f"/webhooks/whatsapp/{webhooks.business.slug}"
    first = await webhooks.twilio(path, params)
    stored = await webhooks.inbound_messages()
    again = await webhooks.twilio(path, params)

    _checked(first)
    _checked(again)
    assert again.status_code == first.status_code
    if first.status_code == 200:
        assert first.text.endswith(EMPTY_TWIML)
    assert await webhooks.inbound_messages() == stored


@FUZZ
@given(
    sid=st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True),
    customer=st.from_regex(r"whatsapp:\+9725[0-9]{8}", fullmatch=True),
    body=HEBREW,
)
async def test_a_signed_whatsapp_message_sent_twice_is_stored_once(
    webhooks: Webhooks, sid: str, customer: str, body: str
) -> None:
    path = f"/webhooks/whatsapp/{webhooks.business.slug}"
    params = {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": customer,
        "To": SENDER,
        "Body": body,
        "NumMedia": "0",
    }
    before = await webhooks.inbound_messages()
    seen = await webhooks.deliveries(ChannelName.WHATSAPP, sid)
    responses = [await webhooks.twilio(path, params) for _ in range(3)]

    for response in responses:
        _checked(response)
        assert response.status_code == 200
    assert await webhooks.deliveries(ChannelName.WHATSAPP, sid) == 1
    assert await webhooks.inbound_messages() == before + (0 if seen else 1)


async def test_a_signed_whatsapp_message_with_nul_characters_is_stored_without_them(
    webhooks: Webhooks,
) -> None:
    path = f"/webhooks/whatsapp/{webhooks.business.slug}"
    sid = "SM" + "0" * 31 + "\x00" + "1"
    params = {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": "whatsapp:+972501234567\x00",
        "To": SENDER,
        "Body": "שלום\x00 there",
        "ProfileName": "\x00Dana",
        "NumMedia": "0",
    }

    response = await webhooks.twilio(path, params)

    _checked(response)
    assert response.status_code == 200
    assert (
        await webhooks.count(
            "SELECT count(*) FROM messages WHERE business_id = :business AND text = :text",
            text="שלום there",
        )
        == 1
    )


async def test_a_signed_number_too_long_for_python_is_no_number_or_refused_where_it_is_core(
    webhooks: Webhooks,
) -> None:
    path = f"/webhooks/whatsapp/{webhooks.business.slug}"
    params = {
        "MessageSid": "SM" + "7" * 32,
        "AccountSid": ACCOUNT_SID,
        "From": "whatsapp:+972501234999",
        "To": SENDER,
        "Body": "hi",
        "NumMedia": "9" * 5000,
    }
    status = {
        "MessageSid": "SM" + "8" * 32,
        "AccountSid": ACCOUNT_SID,
        "MessageStatus": "failed",
        "ErrorCode": "1" * 5000,
    }

    message = await webhooks.twilio(path, params)
    report = await webhooks.twilio(path + "/status", status)

    _checked(message)
    _checked(report)
    assert (message.status_code, report.status_code) == (400, 204)
    assert message.json()["error"]["code"] == "invalid_nummedia"
    assert await webhooks.deliveries(ChannelName.WHATSAPP, params["MessageSid"]) == 0


@FUZZ
@given(params=_form(STATUS_FIELDS))
async def test_any_signed_status_callback_gets_a_clear_answer(
    webhooks: Webhooks, params: dict[str, str]
) -> None:
    path = f"/webhooks/whatsapp/{webhooks.business.slug}/status"
    first = await webhooks.twilio(path, params)
    again = await webhooks.twilio(path, params)

    _checked(first)
    _checked(again)
    assert again.status_code == first.status_code
    assert first.status_code in (204, 400, 403)
