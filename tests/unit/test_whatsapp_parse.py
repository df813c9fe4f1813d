"""Twilio webhooks (../shared/fixtures/twilio) are verified by signature, then parsed exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from bot.domain import (
    AccountStatus,
    ChannelAccount,
    ChannelName,
    DeliveryStatus,
    Forbidden,
    InboundKind,
    InvalidInput,
    WebhookRequest,
)
from integrations.whatsapp import (
    CAPABILITIES,
    TwilioAccount,
    WhatsAppChannel,
    parse_inbound,
    parse_status,
    read_form,
    verify,
)
from integrations.whatsapp.webhooks import inbound_from

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "twilio"
AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


VECTORS = _load("request_validator_vectors.json")
INBOUND = _load("whatsapp_inbound_webhooks.json")
STATUS = _load("status_callbacks.json")
GOOD_INBOUND = sorted(n for n, r in INBOUND["requests"].items() if r.get("expect_valid", True))
ACCOUNT = TwilioAccount(
    account_sid="AC00000000000000000000000000000001",
    auth_token=INBOUND["auth_token"],
    sender="whatsapp:+14155238886",
)
SID = "SM" + "1" * 32


def _body(case: dict[str, Any]) -> bytes:
    if "form_body" in case:
        return case["form_body"].encode()
    if "body" in case:
        return case["body"].encode()
    return urlencode(case["params"]).encode()


def _inbound(name: str, **changes: Any) -> list:  # type: ignore[type-arg]
    request = INBOUND["requests"][name]
    arguments: dict[str, Any] = {
        "url": INBOUND["webhook_url"],
        "signature": request["x_twilio_signature"],
        "account": ACCOUNT,
        "received_at": AT,
    }
    arguments.update(changes)
    body = arguments.pop("body", request["form_body"].encode())
    return parse_inbound(body, **arguments)


def _signed(params: list[tuple[str, str]], url: str = INBOUND["webhook_url"]) -> tuple[bytes, str]:
    body = urlencode(params).encode()
    return body, RequestValidator(ACCOUNT.auth_token).compute_signature(url, read_form(body))


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_every_twilio_signature_vector_is_accepted(case: dict[str, Any]) -> None:
    verify(
        _body(case),
        url=case["url"],
        signature=case["expected_signature"],
        auth_token=VECTORS["auth_token"],
    )


@pytest.mark.parametrize(
    "case",
    [c for c in VECTORS["cases"] if "params_multi" in c or c["name"].startswith("compute")],
    ids=lambda c: c["name"],
)
def test_repeated_form_keys_are_all_signed_as_twilio_computes_them(case: dict[str, Any]) -> None:
    computed = RequestValidator(VECTORS["auth_token"]).compute_signature(
        case["url"], read_form(_body(case))
    )

    assert computed == case["expected_signature"]


@pytest.mark.parametrize(
    "case", VECTORS["derived_negative_cases"]["cases"], ids=lambda c: c["name"]
)
def test_every_derived_negative_vector_is_forbidden(case: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        verify(
            _body(case),
            url=case["url"],
            signature=case["signature"],
            auth_token=case.get("auth_token", VECTORS["auth_token"]),
        )


@pytest.mark.parametrize("name", GOOD_INBOUND)
def test_every_signed_inbound_webhook_parses_to_one_whatsapp_message(name: str) -> None:
    params = INBOUND["requests"][name]["params"]

    [inbound] = _inbound(name)

    assert inbound.channel is ChannelName.WHATSAPP
    assert inbound.delivery_id == inbound.channel_message_id == params["MessageSid"]
    assert inbound.address == params["From"] == f"whatsapp:+{params['WaId']}"
    assert inbound.profile_name == params["ProfileName"]
    assert inbound.received_at == AT


def test_hebrew_text_round_trips_exactly() -> None:
    [inbound] = _inbound("text_hebrew_frustrated")

    assert inbound.text == INBOUND["requests"]["text_hebrew_frustrated"]["params"]["Body"]
    assert inbound.text == "כבר שבוע אני מחכה להחזר הכספי!!! זה פשוט לא רציני. תעבירו אותי לנציג"
    assert inbound.profile_name == "דנה"
    assert inbound.kind is InboundKind.MESSAGE and inbound.note is None


def test_an_image_without_a_body_is_noted_with_its_link() -> None:
    params = INBOUND["requests"]["image_no_body"]["params"]

    [inbound] = _inbound("image_no_body")

    assert inbound.text is None
    assert inbound.note == f"[image: {params['MediaUrl0']}]"


def test_a_location_is_noted_with_coordinates_and_label() -> None:
    [inbound] = _inbound("location")

    assert inbound.text is None
    assert inbound.note == "[location: 51.5007,-0.1246 Home, Westminster, London]"


def test_a_quick_reply_answer_is_a_button_with_its_payload_as_the_choice() -> None:
    [inbound] = _inbound("quick_reply_button")

    assert inbound.kind is InboundKind.BUTTON
    assert inbound.choice == "handoff_yes"
    assert inbound.text == inbound.note == "כן, לנציג"


def test_an_item_picked_from_a_list_is_a_button_with_the_item_s_id_as_the_choice() -> None:
    params = {
        "MessageSid": SID,
        "From": "whatsapp:+972501234567",
        "Body": "4",
        "ListId": "4",
        "ListTitle": "4",
    }

    inbound = inbound_from(params, sid=SID, received_at=AT)

    assert inbound.kind is InboundKind.BUTTON
    assert (inbound.choice, inbound.note) == ("4", "4")


def test_a_webhook_with_a_bad_signature_is_forbidden() -> None:
    request = INBOUND["requests"]["text_hebrew_frustrated_bad_signature"]

    with pytest.raises(Forbidden):
        _inbound("text_hebrew_frustrated_bad_signature", signature=request["x_twilio_signature"])


def test_a_tampered_body_is_forbidden() -> None:
    body = INBOUND["requests"]["text_english_neutral"]["form_body"].replace(
        "delivery+address", "credit+card"
    )

    with pytest.raises(Forbidden):
        _inbound("text_english_neutral", body=body.encode())


def test_an_added_param_is_forbidden() -> None:
    body = INBOUND["requests"]["text_english_neutral"]["form_body"] + "&Forwarded=true"

    with pytest.raises(Forbidden):
        _inbound("text_english_neutral", body=body.encode())


def test_a_repeated_param_with_a_new_value_is_forbidden() -> None:
    body = INBOUND["requests"]["text_english_neutral"]["form_body"] + "&Body=hello"

    with pytest.raises(Forbidden):
        _inbound("text_english_neutral", body=body.encode())


def test_a_missing_signature_header_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        _inbound("text_english_neutral", signature=None)


def test_a_signature_for_another_url_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        _inbound("text_english_neutral", url="https://bot.example.com/webhooks/twilio/other")


def test_a_signature_for_another_auth_token_is_forbidden() -> None:
    other = TwilioAccount(
        account_sid=ACCOUNT.account_sid, auth_token="another_token", sender=ACCOUNT.sender
    )

    with pytest.raises(Forbidden):
        _inbound("text_english_neutral", account=other)


def test_an_account_without_an_auth_token_forbids_everything() -> None:
    body, _ = _signed([("MessageSid", SID), ("From", "whatsapp:+972501234567")])
    empty = TwilioAccount(account_sid=ACCOUNT.account_sid, auth_token="", sender=ACCOUNT.sender)
    forged = RequestValidator("").compute_signature(INBOUND["webhook_url"], read_form(body))

    with pytest.raises(Forbidden):
        parse_inbound(
            body, url=INBOUND["webhook_url"], signature=forged, account=empty, received_at=AT
        )


@pytest.mark.parametrize("body", [b"Body=%FF%FE&From=x", b"Body=\xff\xfe", b"a=1&" * 600])
def test_a_malformed_body_is_invalid_input(body: bytes) -> None:
    with pytest.raises(InvalidInput) as raised:
        _inbound("text_english_neutral", body=body)

    assert raised.value.code == "invalid_form"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ([("From", "whatsapp:+972501234567"), ("Body", "hi")], "missing_messagesid"),
        (
            [("MessageSid", SID), ("AccountSid", ACCOUNT.account_sid), ("Body", "hi")],
            "missing_from",
        ),
    ],
)
def test_a_signed_webhook_without_message_sid_or_from_is_invalid_input(
    params: list[tuple[str, str]], code: str
) -> None:
    body, signature = _signed(params)

    with pytest.raises(InvalidInput) as raised:
        _inbound("text_english_neutral", body=body, signature=signature)

    assert raised.value.code == code


def test_a_message_with_nothing_readable_still_counts_as_a_message() -> None:
    body, signature = _signed(
        [
            ("MessageSid", SID),
            ("AccountSid", ACCOUNT.account_sid),
            ("From", "whatsapp:+972501234567"),
            ("Body", ""),
            ("MessageType", "sticker"),
        ]
    )

    [inbound] = _inbound("text_english_neutral", body=body, signature=signature)

    assert inbound.text is None and inbound.note == "[sticker]"


EXPECTED_STATUS = {
    "sent": (DeliveryStatus.SENT, None),
    "delivered": (DeliveryStatus.DELIVERED, None),
    "read": (DeliveryStatus.READ, None),
    "failed_63016_outside_24h_window": (DeliveryStatus.FAILED, 63016),
    "undelivered_63016_variant": (DeliveryStatus.FAILED, 63016),
    "sms_sent_minimal": (DeliveryStatus.SENT, None),
}


def test_every_status_callback_in_the_fixtures_has_an_expectation() -> None:
    assert sorted(STATUS["requests"]) == sorted(EXPECTED_STATUS)


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_every_status_callback_maps_to_its_delivery_status(name: str) -> None:
    request = STATUS["requests"][name]
    status, error = EXPECTED_STATUS[name]

    update = parse_status(
        request["form_body"].encode(),
        url=STATUS["webhook_url"],
        signature=request["x_twilio_signature"],
        account=ACCOUNT,
        received_at=AT,
    )

    assert update.message_sid == request["params"]["MessageSid"]
    assert update.status is status
    assert update.raw_status == request["params"]["MessageStatus"]
    assert update.error_code == error
    assert update.needs_template is (error == 63016)
    assert update.address == request["params"]["To"]


def test_the_undelivered_callback_keeps_twilios_error_message() -> None:
    request = STATUS["requests"]["undelivered_63016_variant"]

    update = parse_status(
        request["form_body"].encode(),
        url=STATUS["webhook_url"],
        signature=request["x_twilio_signature"],
        account=ACCOUNT,
        received_at=AT,
    )

    assert update.error_message == request["params"]["ErrorMessage"]


def test_a_tampered_status_callback_is_forbidden() -> None:
    request = STATUS["requests"]["sent"]
    body = request["form_body"].replace("MessageStatus=sent", "MessageStatus=read")

    with pytest.raises(Forbidden):
        parse_status(
            body.encode(),
            url=STATUS["webhook_url"],
            signature=request["x_twilio_signature"],
            account=ACCOUNT,
            received_at=AT,
        )


def test_an_unknown_status_is_tolerated_and_kept_raw() -> None:
    url = STATUS["webhook_url"]
    body, signature = _signed(
        [("MessageSid", SID), ("AccountSid", ACCOUNT.account_sid), ("MessageStatus", "warped")], url
    )

    update = parse_status(body, url=url, signature=signature, account=ACCOUNT, received_at=AT)

    assert update.status is None and update.raw_status == "warped"


def test_a_signed_status_callback_without_a_status_is_invalid_input() -> None:
    url = STATUS["webhook_url"]
    body, signature = _signed([("MessageSid", SID), ("AccountSid", ACCOUNT.account_sid)], url)

    with pytest.raises(InvalidInput):
        parse_status(body, url=url, signature=signature, account=ACCOUNT, received_at=AT)


async def test_the_channel_checks_the_signature_against_the_public_url() -> None:
    request = INBOUND["requests"]["text_english_neutral"]
    stored = ChannelAccount(
        id=1,
        business_id=1,
        channel=ChannelName.WHATSAPP,
        status=AccountStatus.CONNECTED,
        credentials={"account_sid": ACCOUNT.account_sid, "auth_token": ACCOUNT.auth_token},
        settings={"sender": ACCOUNT.sender},
    )
    webhook = WebhookRequest(
        business="shop",
        url="http://10.0.0.5:8000/webhooks/twilio/whatsapp",
        headers={"X-Twilio-Signature": request["x_twilio_signature"]},
        body=request["form_body"].encode(),
        received_at=AT,
        account=stored,
    )
    channel = WhatsAppChannel("http://127.0.0.1:9", public_base="https://bot.example.com/")

    [inbound] = await channel.parse(webhook)

    assert inbound.text == request["params"]["Body"]


def test_the_auth_token_never_shows_in_the_account_repr() -> None:
    assert ACCOUNT.auth_token not in repr(ACCOUNT)


@pytest.mark.parametrize(
    "fields",
    [
        {"account_sid": "XX1", "sender": "whatsapp:+14155238886"},
        {"account_sid": "AC1"},
        {"account_sid": "AC1", "sender": "+14155238886"},
    ],
)
def test_an_account_without_a_valid_sid_or_sender_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        TwilioAccount(auth_token="t", **fields)


def test_whatsapp_has_buttons_and_a_24_hour_window() -> None:
    assert CAPABILITIES.buttons and not CAPABILITIES.can_initiate
    assert CAPABILITIES.max_text == 1600
    assert CAPABILITIES.reply_window is not None
    assert CAPABILITIES.reply_window.total_seconds() == 24 * 3600


async def test_a_webhook_for_a_half_configured_account_is_forbidden() -> None:
    request = INBOUND["requests"]["text_english_neutral"]
    stored = ChannelAccount(
        id=1,
        business_id=1,
        channel=ChannelName.WHATSAPP,
        status=AccountStatus.CONNECTED,
        credentials={"account_sid": ACCOUNT.account_sid, "auth_token": ACCOUNT.auth_token},
    )
    webhook = WebhookRequest(
        business="shop",
        url="http://10.0.0.5:8000/webhooks/twilio/whatsapp",
        headers={"x-twilio-signature": request["x_twilio_signature"]},
        body=request["form_body"].encode(),
        received_at=AT,
        account=stored,
    )
    channel = WhatsAppChannel("http://127.0.0.1:9", public_base="https://bot.example.com")

    with pytest.raises(Forbidden):
        await channel.parse(webhook)


def _fields(**changes: str | None) -> list[tuple[str, str]]:
    params: dict[str, str | None] = {
        "AccountSid": ACCOUNT.account_sid,
        "Body": "hello",
        "From": "whatsapp:+972501234567",
        "MessageSid": SID,
        "NumMedia": "0",
        "To": "whatsapp:+14155238886",
        **changes,
    }
    return [(name, value) for name, value in params.items() if value is not None]


def test_a_signed_message_with_its_sid_boundary_moved_still_passes_the_signature_but_is_refused() -> (
    None
):
    captured = [("MessageSid", SID), ("NumMedia", "0"), ("AccountSid", ACCOUNT.account_sid)]
    captured += [("From", "whatsapp:+972501234567"), ("Body", "hello")]
    body, signature = _signed(captured)
    # "MessageSid" "SM…" "NumMedia" "0" and "MessageSid" "SM…NumMedia0": one signed string.
    moved = [("MessageSid", SID + "NumMedia0"), *captured[2:]]
    replay = urlencode(moved).encode()
    assert RequestValidator(ACCOUNT.auth_token).validate(
        INBOUND["webhook_url"], read_form(replay), signature
    )

    [first] = _inbound("text_english_neutral", body=body, signature=signature)
    with pytest.raises(InvalidInput) as raised:
        _inbound("text_english_neutral", body=replay, signature=signature)

    assert first.delivery_id == SID
    assert raised.value.code == "invalid_messagesid"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"MessageSid": "sm" + "1" * 32}, "invalid_messagesid"),
        ({"MessageSid": "SM" + "1" * 31}, "invalid_messagesid"),
        ({"MessageSid": "SM" + "1" * 33}, "invalid_messagesid"),
        ({"MessageSid": "SM" + "g" * 32}, "invalid_messagesid"),
        ({"MessageSid": "AC" + "1" * 32}, "invalid_messagesid"),
        ({"MessageSid": SID + "\n"}, "invalid_messagesid"),
        ({"SmsMessageSid": "SM" + "2" * 32}, "invalid_messagesid"),
        ({"SmsSid": "SM" + "2" * 32}, "invalid_messagesid"),
        ({"AccountSid": None}, "invalid_accountsid"),
        ({"AccountSid": "AC" + "1" * 31}, "invalid_accountsid"),
        ({"AccountSid": ACCOUNT.account_sid + "Body"}, "invalid_accountsid"),
        ({"From": "whatsapp:+972501234567Body"}, "invalid_from"),
        ({"From": "+972501234567"}, "invalid_from"),
        ({"To": "whatsapp:"}, "invalid_to"),
        ({"NumMedia": "0NumSegments1"}, "invalid_nummedia"),
        ({"NumMedia": "11"}, "invalid_nummedia"),
    ],
)
def test_a_signed_message_with_a_core_field_of_the_wrong_shape_is_refused(
    changes: dict[str, str | None], code: str
) -> None:
    body, signature = _signed(_fields(**changes))

    with pytest.raises(InvalidInput) as raised:
        _inbound("text_english_neutral", body=body, signature=signature)

    assert raised.value.code == code


@pytest.mark.parametrize("name", ["MessageSid", "AccountSid", "From", "Body", "NumMedia"])
def test_a_signed_message_repeating_a_field_kesher_reads_is_refused(name: str) -> None:
    fields = _fields()
    body, signature = _signed([*fields, next(pair for pair in fields if pair[0] == name)])

    with pytest.raises(InvalidInput) as raised:
        _inbound("text_english_neutral", body=body, signature=signature)

    assert raised.value.code == "duplicate_field"


def test_a_message_signed_with_the_token_but_naming_another_account_is_forbidden() -> None:
    body, signature = _signed(_fields(AccountSid="AC" + "f" * 32))
    status, status_signature = _signed(
        [("MessageSid", SID), ("AccountSid", "AC" + "f" * 32), ("MessageStatus", "read")],
        STATUS["webhook_url"],
    )

    with pytest.raises(Forbidden) as message:
        _inbound("text_english_neutral", body=body, signature=signature)
    with pytest.raises(Forbidden) as report:
        parse_status(
            status,
            url=STATUS["webhook_url"],
            signature=status_signature,
            account=ACCOUNT,
            received_at=AT,
        )

    assert message.value.code == report.value.code == "wrong_account"


@pytest.mark.parametrize("sid", ["MM" + "ab12" * 8, "SM" + "AB12" * 8])
def test_a_media_message_sid_and_upper_case_hex_are_twilio_s_own_shapes(sid: str) -> None:
    body, signature = _signed(_fields(MessageSid=sid, SmsMessageSid=sid, SmsSid=sid))

    [inbound] = _inbound("text_english_neutral", body=body, signature=signature)

    assert inbound.delivery_id == sid


def test_a_status_callback_with_a_moved_sid_boundary_is_refused() -> None:
    url = STATUS["webhook_url"]
    body, signature = _signed(
        [("AccountSid", ACCOUNT.account_sid), ("MessageSid", SID + "MessageStatusread")], url
    )

    with pytest.raises(InvalidInput) as raised:
        parse_status(body, url=url, signature=signature, account=ACCOUNT, received_at=AT)

    assert raised.value.code == "invalid_messagesid"
