"""A business connects WhatsApp; customers' messages arrive signed, once, and statuses only move forward."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import text
from twilio.request_validator import RequestValidator

from app.bootstrap import Runtime
from bot.accounts.channels import connect_whatsapp
from bot.domain import Business, ChannelName, DeliveryStatus, InvalidInput, Message
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilio
from tests.integration.conftest import running, settled

PUBLIC = "https://kesher.example.com"
CUSTOMER = "whatsapp:+972501234567"


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def runtime(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path, fake_twilio: FakeTwilio
) -> AsyncIterator[Runtime]:
    async for built in running(
        request, tmp_path, twilio_api_url=fake_twilio.url, public_url=PUBLIC
    ):
        yield built


@pytest.fixture
async def shop(runtime: Runtime, business: tuple[Business, str]) -> Business:
    found, _ = business
    await connect_whatsapp(
        runtime.services,
        found,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sender=SENDER,
        public_base=PUBLIC,
    )
    return found


def _signed(path: str, params: dict[str, str], *, token: str = AUTH_TOKEN) -> dict[str, object]:
    signature = RequestValidator(token).compute_signature(PUBLIC + path, params)
    return {
        "content": urlencode(params).encode(),
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    }


def _message(sid: str, body: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": CUSTOMER,
        "To": SENDER,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "נועה",
        "WaId": "972501234567",
    }


async def _sent(fake: FakeTwilio, count: int) -> list[dict[str, str]]:
    for _ in range(200):
        if len(fake.calls) >= count:
            break
        await asyncio.sleep(0.05)
    return [dict(call.params) for call in fake.calls]


async def test_a_signed_hebrew_message_is_stored_once_and_answered_once_through_twilio(
    client: httpx.AsyncClient, shop: Business, fake_twilio: FakeTwilio, runtime: Runtime
) -> None:
    path = f"/webhooks/whatsapp/{shop.slug}"
    request = _signed(path, _message("SM" + "1" * 32, "ההזמנה שלי לא הגיעה 😡"))
    first = await client.post(path, **request)  # type: ignore[arg-type]
    again = await asyncio.gather(*(client.post(path, **request) for _ in range(5)))  # type: ignore[arg-type]

    assert first.status_code == 200 and first.text.endswith("<Response></Response>")
    assert {r.status_code for r in again} == {200}
    sent = await _sent(fake_twilio, 1)
    await settled(runtime)
    assert len(fake_twilio.calls) == 1
    assert sent[0]["To"] == CUSTOMER and sent[0]["From"] == SENDER
    # An angry "my order didn't arrive 😡" is handed to a person: the acknowledgement answers.
    assert sent[0]["Body"].startswith("קיבלנו.") and "יענה לך כאן" in sent[0]["Body"]
    assert sent[0]["StatusCallback"] == f"{PUBLIC}/webhooks/whatsapp/{shop.slug}/status"


@pytest.mark.parametrize("signature", [None, "forged", "wrong-token"])
async def test_an_unsigned_or_forged_message_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, shop: Business, business: tuple[Business, str], signature: str | None
) -> None:
    path = f"/webhooks/whatsapp/{shop.slug}"
    params = _message("SM" + "2" * 32, "hello")
    request = _signed(
        path, params, token="not-the-token" if signature == "wrong-token" else AUTH_TOKEN
    )
    headers = dict(request["headers"])  # type: ignore[call-overload]
    if signature is None:
        del headers["X-Twilio-Signature"]
    elif signature == "forged":
        headers["X-Twilio-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    response = await client.post(path, content=request["content"], headers=headers)  # type: ignore[arg-type]

    assert response.status_code == 403
    assert response.json()["error"]["message"]
    listing = await client.get(
        f"/api/v1/{shop.slug}/customers", headers={"Authorization": f"Bearer {business[1]}"}
    )
    assert listing.json()["customers"] == []


async def _inbound_count(runtime: Runtime, shop: Business) -> int:
    async with runtime.engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT count(*) FROM messages WHERE business_id = :b AND direction = 'in'"),
            {"b": shop.id},
        )
    return int(found or 0)


async def test_a_captured_message_replayed_with_its_sid_boundary_moved_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, shop: Business, fake_twilio: FakeTwilio, runtime: Runtime
) -> None:
    path = f"/webhooks/whatsapp/{shop.slug}"
    sid = "SM" + "9a" * 16
    captured = _signed(path, _message(sid, "hello"))
    first = await client.post(path, **captured)  # type: ignore[arg-type]
    await _sent(fake_twilio, 1)
    await settled(runtime)
    stored = await _inbound_count(runtime, shop)
    # Signed as "MessageSid" "SM…" "NumMedia" "0": the same string as "MessageSid" "SM…NumMedia0".
    moved = {k: v for k, v in _message(sid, "hello").items() if k != "NumMedia"}
    moved["MessageSid"] = sid + "NumMedia0"
    headers = captured["headers"]

    replay = await client.post(path, content=urlencode(moved).encode(), headers=headers)  # type: ignore[arg-type]
    await settled(runtime)

    assert first.status_code == 200 and stored == 1
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "invalid_messagesid"
    assert await _inbound_count(runtime, shop) == stored
    assert len(fake_twilio.calls) == 1


async def test_a_message_signed_with_the_token_but_for_another_account_is_refused(
    client: httpx.AsyncClient, shop: Business, runtime: Runtime
) -> None:
    path = f"/webhooks/whatsapp/{shop.slug}"
    params = {**_message("SM" + "8" * 32, "hello"), "AccountSid": "AC" + "e" * 32}

    response = await client.post(path, **_signed(path, params))  # type: ignore[arg-type]

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_account"
    assert await _inbound_count(runtime, shop) == 0


async def test_a_business_without_whatsapp_gets_404_not_a_stored_message(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    found, _ = business
    path = f"/webhooks/whatsapp/{found.slug}"
    response = await client.post(path, **_signed(path, _message("SM" + "3" * 32, "hi")))  # type: ignore[arg-type]

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_connected"


async def _answered(
    client: httpx.AsyncClient,
    shop: Business,
    fake_twilio: FakeTwilio,
    runtime: Runtime,
    sid: str,
    *,
    sends: int,
) -> list[Message]:
    """Kesher's replies to CUSTOMER, oldest first, once Twilio has had `sends` after `sid`."""
    path = f"/webhooks/whatsapp/{shop.slug}"
    await client.post(path, **_signed(path, _message(sid, "hello")))  # type: ignore[arg-type]
    await _sent(fake_twilio, sends)
    await settled(runtime)
    async with runtime.services.uow() as uow:
        identity = await uow.identities.find(shop.id, ChannelName.WHATSAPP, CUSTOMER)
        assert identity is not None
        messages = await uow.messages.for_customer(identity.customer_id, limit=10)
    return [m for m in messages if m.direction == "out"]


async def test_statuses_move_forward_only_and_a_failure_lands_on_the_timeline(
    client: httpx.AsyncClient,
    shop: Business,
    business: tuple[Business, str],
    fake_twilio: FakeTwilio,
    runtime: Runtime,
) -> None:
    path = f"/webhooks/whatsapp/{shop.slug}"
    (reply,) = await _answered(client, shop, fake_twilio, runtime, "SM" + "4" * 32, sends=1)
    assert reply.channel_message_id and reply.status is DeliveryStatus.QUEUED

    status_path = f"{path}/status"

    async def report(status: str, **extra: str) -> int:
        params = {
            "MessageSid": reply.channel_message_id or "",
            "MessageStatus": status,
            "AccountSid": ACCOUNT_SID,
            **extra,
        }
        response = await client.post(status_path, **_signed(status_path, params))  # type: ignore[arg-type]
        return response.status_code

    async def status_now() -> DeliveryStatus:
        async with runtime.services.uow() as uow:
            return (await uow.messages.get(reply.id)).status

    assert await report("read") == 204
    assert await report("sent") == 204
    assert await report("delivered") == 204
    assert await status_now() is DeliveryStatus.READ
    assert await report("failed", ErrorCode="63016") == 204
    assert await status_now() is DeliveryStatus.READ

    reply = (await _answered(client, shop, fake_twilio, runtime, "SM" + "5" * 32, sends=2))[-1]
    assert await report("undelivered", ErrorCode="30008", ErrorMessage="Unknown error") == 204
    assert await status_now() is DeliveryStatus.FAILED
    assert await report("delivered") == 204
    assert await status_now() is DeliveryStatus.FAILED
    timeline = (
        await client.get(
            f"/api/v1/{shop.slug}/customers/{reply.customer_id}/timeline",
            headers={"Authorization": f"Bearer {business[1]}"},
        )
    ).json()["items"]
    (failed,) = [i for i in timeline if i["type"] == "event" and i["kind"] == "delivery_failed"]
    assert failed["data"]["error_code"] == "30008"


async def test_reports_of_one_message_arriving_together_still_only_move_it_forward(
    client: httpx.AsyncClient, shop: Business, fake_twilio: FakeTwilio, runtime: Runtime
) -> None:
    path = f"/webhooks/whatsapp/{shop.slug}"
    (reply,) = await _answered(client, shop, fake_twilio, runtime, "SM" + "6" * 32, sends=1)
    status_path = f"{path}/status"

    async def report(status: str) -> None:
        params = {
            "MessageSid": reply.channel_message_id or "",
            "MessageStatus": status,
            "AccountSid": ACCOUNT_SID,
        }
        response = await client.post(status_path, **_signed(status_path, params))  # type: ignore[arg-type]
        assert response.status_code == 204

    ended = []
    for _ in range(10):
        async with runtime.services.uow() as uow:
            await uow.messages.set_status(reply.id, DeliveryStatus.SENT, at=reply.created_at)
            await uow.commit()
        # Both see "sent" and both may write: only the write that moves it forward lands.
        await asyncio.gather(report("read"), report("delivered"))
        async with runtime.services.uow() as uow:
            ended.append((await uow.messages.get(reply.id)).status)
    assert ended == [DeliveryStatus.READ] * 10


async def test_connect_refuses_values_twilio_would_refuse(
    runtime: Runtime, business: tuple[Business, str]
) -> None:
    found, _ = business
    for values, problem in [
        ({"account_sid": "XX123", "auth_token": AUTH_TOKEN, "sender": SENDER}, "starts with 'AC'"),
        ({"account_sid": ACCOUNT_SID, "auth_token": " ", "sender": SENDER}, "auth token is empty"),
        (
            {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": "+97250"},
            "must look like whatsapp",
        ),
    ]:
        with pytest.raises(InvalidInput, match=problem):
            await connect_whatsapp(runtime.services, found, public_base=PUBLIC, **values)
