"""Replies reach customers through Twilio's Messages API, and Twilio's refusals say what to do next.

The API is a fake on loopback (tests/fakes/twilio_api.py) that the twilio SDK talks to over real
HTTP; only the REST root changes, exactly as with KESHER_TWILIO_API_URL.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator

import pytest

from bot.domain import ChannelName, Choice, DeliveryStatus, Outbound, Reply, SendFailed
from integrations.whatsapp import MAX_TEXT, RootedHttpClient, TwilioAccount, WhatsAppSender
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilio

CUSTOMER = "whatsapp:+972501234567"
CALLBACK = "https://kesher.example/webhooks/whatsapp/shop/status"
ACCOUNT = TwilioAccount(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, sender=SENDER)


@pytest.fixture
def fake(fake_twilio: FakeTwilio) -> FakeTwilio:
    return fake_twilio


@pytest.fixture
async def sender(fake: FakeTwilio) -> AsyncIterator[WhatsAppSender]:
    async with WhatsAppSender(fake.url, timeout=0.5) as sending:
        yield sending


def reply(text: str, *choices: Choice, address: str = CUSTOMER) -> Outbound:
    return Outbound(
        channel=ChannelName.WHATSAPP,
        business="shop",
        address=address,
        reply=Reply(text, tuple(choices)),
        idempotency_key="reply:1:0",
    )


async def test_a_reply_is_sent_from_the_sender_to_the_customer_with_basic_auth(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    receipt = await sender.send(
        reply("שלום דנה, איך היה?"), account=ACCOUNT, status_callback=CALLBACK
    )

    [call] = fake.calls
    assert (call.account_sid, call.username, call.password) == (
        ACCOUNT_SID,
        ACCOUNT_SID,
        AUTH_TOKEN,
    )
    assert call.params == {
        "To": CUSTOMER,
        "From": SENDER,
        "Body": "שלום דנה, איך היה?",
        "StatusCallback": CALLBACK,
    }
    assert receipt.channel_message_id.startswith("SM")
    assert receipt.status is DeliveryStatus.QUEUED


async def test_a_messaging_service_sends_without_a_from(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    service = TwilioAccount(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, messaging_service_sid="MG" + "1" * 32
    )

    receipt = await sender.send(reply("Hi"), account=service)

    [call] = fake.calls
    assert call.params["MessagingServiceSid"] == service.messaging_service_sid
    assert "From" not in call.params and "StatusCallback" not in call.params
    assert receipt.status is DeliveryStatus.QUEUED


async def test_an_answer_already_sent_gives_a_sent_receipt(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    fake.status = "sent"

    receipt = await sender.send(reply("Hi"), account=ACCOUNT)

    assert receipt.status is DeliveryStatus.SENT


async def test_a_bare_number_is_sent_on_whatsapp_never_as_an_sms(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    await sender.send(reply("Hi", address="+972501234567"), account=ACCOUNT)

    assert fake.calls[0].params["To"] == CUSTOMER


CHECKIN = (Choice("great", "מצוין 😀"), Choice("okay", "בסדר 🙂"), Choice("problem", "יש בעיה 😕"))
CSAT = tuple(Choice(str(n), str(n)) for n in range(1, 6))
NPS = tuple(Choice(str(n), str(n)) for n in range(11))


async def test_three_short_choices_go_as_quick_reply_buttons_created_once(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    for _ in range(2):
        await sender.send(reply("איך הכל?", *CHECKIN), account=ACCOUNT)

    [content] = fake.contents
    assert content["types"]["twilio/quick-reply"] == {
        "body": "איך הכל?",
        "actions": [{"type": "QUICK_REPLY", "title": c.label, "id": c.id} for c in CHECKIN],
    }
    assert content["language"] == "he"
    assert [call.params.get("ContentSid") for call in fake.calls] == [content["sid"]] * 2
    assert all("Body" not in call.params for call in fake.calls)


async def test_a_csat_scale_goes_as_a_list_with_a_button_in_the_message_s_language(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    await sender.send(reply("How satisfied were you?", *CSAT), account=ACCOUNT)
    await sender.send(reply("כמה הייתם מרוצים?", *CSAT), account=ACCOUNT)

    english, hebrew = (c["types"]["twilio/list-picker"] for c in fake.contents)
    assert english["items"] == [{"item": str(n), "id": str(n)} for n in range(1, 6)]
    assert (english["button"], hebrew["button"]) == ("Choose", "לבחירה")
    assert [c.params["ContentSid"] for c in fake.calls] == [c["sid"] for c in fake.contents]


async def test_choices_past_whatsapp_s_limits_go_as_text_to_answer_by_typing(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    long = tuple(Choice(f"c{n}", f"A rather long option number {n}") for n in range(2))
    await sender.send(reply("How likely are you to recommend us?", *NPS), account=ACCOUNT)
    await sender.send(reply("How was your visit?", *long), account=ACCOUNT)

    assert fake.contents == []
    nps, visit = (call.params["Body"] for call in fake.calls)
    assert nps == "How likely are you to recommend us?\n\n" + " · ".join(map(str, range(11)))
    assert visit == (
        "How was your visit?\n\n1. A rather long option number 0\n2. A rather long option number 1"
    )


async def test_buttons_twilio_refuses_to_create_fall_back_to_a_numbered_list(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    fake.refuse_contents = True

    await sender.send(
        reply("How was your visit?", Choice("great", "Great"), Choice("okay", "Okay")),
        account=ACCOUNT,
    )

    assert fake.calls[0].params["Body"] == "How was your visit?\n\n1. Great\n2. Okay"


async def test_long_text_is_split_into_messages_of_at_most_1600_characters(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    paragraph = "מילה " * 300
    text = "\n\n".join([paragraph.strip()] * 3)

    receipt = await sender.send(reply(text, Choice("1", "Yes")), account=ACCOUNT)

    bodies = [call.params["Body"] for call in fake.calls]
    assert len(bodies) == 3
    assert all(len(body) <= MAX_TEXT for body in bodies)
    assert " ".join(bodies).split() == f"{text}\n\n1. Yes".split()
    assert bodies[-1].endswith("1. Yes")
    assert receipt.channel_message_id.startswith("SM")


async def test_too_many_requests_is_retryable_after_twilios_retry_after(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    fake.fail_next(429, 20429, "Too Many Requests", retry_after=7)

    with pytest.raises(SendFailed) as raised:
        await sender.send(reply("Hi"), account=ACCOUNT)

    assert raised.value.retryable is True
    assert raised.value.retry_after == 7
    assert len(fake.calls) == 1


async def test_outside_the_24_hour_window_is_not_retried_and_says_to_use_a_template(
    fake: FakeTwilio, sender: WhatsAppSender
) -> None:
    fake.fail_next(
        400,
        63016,
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template.",
    )

    with pytest.raises(SendFailed) as raised:
        await sender.send(reply("Hi"), account=ACCOUNT)

    assert raised.value.retryable is False
    assert raised.value.code == "outside_window"
    assert "63016" in raised.value.message
    assert "24-hour" in raised.value.message and "template" in raised.value.message
    assert len(fake.calls) == 1


async def test_a_server_error_is_retryable(fake: FakeTwilio, sender: WhatsAppSender) -> None:
    fake.fail_next(500, 20500, "Internal Server Error")

    with pytest.raises(SendFailed) as raised:
        await sender.send(reply("Hi"), account=ACCOUNT)

    assert raised.value.retryable is True
    assert len(fake.calls) == 1


@pytest.mark.parametrize("code", [21211, 21614, 63003])
async def test_a_number_that_cannot_be_reached_is_not_retried(
    fake: FakeTwilio, sender: WhatsAppSender, code: int
) -> None:
    fake.fail_next(400, code, "The 'To' number is not valid.")

    with pytest.raises(SendFailed) as raised:
        await sender.send(reply("Hi"), account=ACCOUNT)

    assert raised.value.retryable is False and raised.value.unreachable is True
    assert str(code) in raised.value.message
    assert len(fake.calls) == 1


async def test_wrong_credentials_are_not_retried(fake: FakeTwilio, sender: WhatsAppSender) -> None:
    wrong = TwilioAccount(account_sid=ACCOUNT_SID, auth_token="wrong", sender=SENDER)

    with pytest.raises(SendFailed) as raised:
        await sender.send(reply("Hi"), account=wrong)

    assert raised.value.retryable is False
    assert "20003" in raised.value.message


async def test_a_timeout_is_retryable(fake: FakeTwilio, sender: WhatsAppSender) -> None:
    fake.delay_next(1.5)

    with pytest.raises(SendFailed) as raised:
        await sender.send(reply("Hi"), account=ACCOUNT)

    assert raised.value.retryable is True
    assert len(fake.calls) == 1


async def test_an_unreachable_api_is_retryable() -> None:
    async with WhatsAppSender("http://127.0.0.1:9", timeout=0.5) as sending:
        with pytest.raises(SendFailed) as raised:
            await sending.send(reply("Hi"), account=ACCOUNT)

    assert raised.value.retryable is True


async def test_the_sender_closes_its_http_session(
    fake: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        sending = WhatsAppSender(fake.url)
        await sending.send(reply("Hi"), account=ACCOUNT)
        await sending.aclose()
        del sending
        gc.collect()

    assert "Unclosed" not in caplog.text


async def test_a_test_double_root_takes_every_twilio_host_and_an_edge_root_only_api_hosts() -> None:
    messages = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=1"
    content = "https://content.twilio.com/v1/Content"
    double = RootedHttpClient("http://127.0.0.1:8123/")
    edge = RootedHttpClient("https://api.dublin.ie1.twilio.com")
    try:
        assert double.rooted(messages) == (
            "http://127.0.0.1:8123/2010-04-01/Accounts/AC1/Messages.json?PageSize=1"
        )
        assert double.rooted(content) == "http://127.0.0.1:8123/v1/Content"
        assert double.rooted("https://media.example.com/a.jpg") == "https://media.example.com/a.jpg"
        assert edge.rooted(messages).startswith("https://api.dublin.ie1.twilio.com/2010-04-01/")
        assert edge.rooted(content) == content
    finally:
        await double.close()
        await edge.close()
