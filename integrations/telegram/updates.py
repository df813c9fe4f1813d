"""What Telegram posts to Kesher's webhook: the secret token checked, the body read as one
update, and the customer's action in it normalised (or ignored when Kesher does not handle it)."""

from __future__ import annotations

import hmac
import json
import logging
import re
from datetime import datetime
from typing import Any

from telegram import CallbackQuery, ChatMemberUpdated, Message, Update, User

from bot.domain import (
    ChannelName,
    Forbidden,
    Inbound,
    InboundKind,
    InvalidInput,
    WebhookRequest,
)

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
COMMANDS = frozenset({"start", "stop", "help"})
# Telegram's ids are 64-bit integers (20 characters with a sign) and its names 64 characters
# each; a longer id means a malformed update. A chat and a message id together have to fit, with
# "button:", in a 128-character key of the delivery log (bot/inbound/pipeline.py's tap key).
MAX_ID = 20
MAX_NAME = 200
MEDIA = (
    "photo",
    "video",
    "video_note",
    "voice",
    "audio",
    "animation",
    "document",
    "sticker",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)


def verify(request: WebhookRequest) -> None:
    """Forbidden unless the request carries the business's webhook secret (constant-time check)."""
    expected = request.account.secret("webhook_secret") if request.account else ""
    given = next((v for k, v in request.headers.items() if k.lower() == SECRET_HEADER), None)
    if not expected or given is None:
        raise Forbidden("missing X-Telegram-Bot-Api-Secret-Token", code="bad_secret")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("wrong X-Telegram-Bot-Api-Secret-Token", code="bad_secret")


def read_update(body: bytes) -> dict[str, Any]:
    """The body as one update's JSON object; InvalidInput for anything else."""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):  # bad JSON or UTF-8, a 5,000-digit number, deep nesting
        raise InvalidInput("the body is not a JSON update", code="invalid_json") from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("update_id"), int):
        raise InvalidInput("the body is not a Telegram update", code="invalid_update")
    return decoded


def parse_update(data: dict[str, Any], *, received_at: datetime) -> list[Inbound]:
    """The customer's action in one update; [] for updates Kesher does not handle."""
    # python-telegram-bot does not check required fields: a malformed update shows up as None
    # (or another type) where the Bot API promises a chat or a user, and is ignored like one
    # that does not parse at all. Out-of-range numbers for times and durations fail in the
    # standard library's datetime (OverflowError, or OSError from the platform's clock).
    try:
        update = Update.de_json(_lenient(data), None)
        found = _inbound(update, received_at)
        if found is not None:
            _check_types(found)
    except (
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        OverflowError,
        OSError,
        RecursionError,
    ) as error:
        log.warning("ignored Telegram update %s: %s", data.get("update_id"), error)
        return []
    return [found] if found is not None else []


def _inbound(update: Update, received_at: datetime) -> Inbound | None:
    delivery = _id(update.update_id)
    if update.message is not None:
        return _from_message(update.message, delivery, received_at)
    if update.edited_message is not None:
        return _from_edit(update.edited_message, delivery, received_at)
    if update.callback_query is not None:
        return _from_button(update.callback_query, delivery, received_at)
    if update.my_chat_member is not None:
        return _from_membership(update.my_chat_member, delivery, received_at)
    return None


def _lenient(data: Any, key: str = "") -> Any:
    """Fill fields older Bot API versions did not send, so their updates still parse, and make
    every text storable: JSON may escape a lone surrogate ("\\ud800") or a NUL, which neither
    UTF-8 nor PostgreSQL text can hold."""
    if isinstance(data, str):
        return _storable(data)
    if isinstance(data, list):
        return [_lenient(item, key) for item in data]
    if not isinstance(data, dict):
        return data
    filled = {k: _lenient(v, k) for k, v in data.items()}
    if key == "chat" and "type" not in filled:
        filled["type"] = "private" if int(filled.get("id", 0) or 0) > 0 else "group"
    if key in ("from", "user", "forward_from") and "id" in filled:
        filled.setdefault("is_bot", False)
        filled.setdefault("first_name", "")
    if key == "callback_query":
        filled.setdefault("chat_instance", "")
    if "file_id" in filled:
        filled.setdefault("file_unique_id", filled["file_id"])
    if key in ("old_chat_member", "new_chat_member") and filled.get("status") == "kicked":
        filled.setdefault("until_date", 0)
    return filled


# json.loads joins an escaped surrogate pair into one character: any surrogate left is alone.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    """The text without NUL, each lone surrogate as U+FFFD (a valid pair is one character)."""
    return _UNSTORABLE.sub(lambda found: "" if found[0] == "\x00" else "\ufffd", text)


def _check_types(found: Inbound) -> None:
    """ValueError when a field that must be text is not (python-telegram-bot passes any type)."""
    for name in ("text", "choice", "note", "command", "payload", "callback_id", "language"):
        value = getattr(found, name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} is not text ({type(value).__name__})")


def _id(value: object) -> str:
    """An integer id as text; ValueError for anything else, or one too long to keep."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"an id is not an integer ({type(value).__name__})")
    text = str(value)
    if len(text) > MAX_ID:
        raise ValueError(f"an id is over {MAX_ID} characters")
    return text


def _name(user: User | None) -> str | None:
    if user is None:
        return None
    if not isinstance(user.first_name, str) or not isinstance(user.last_name or "", str):
        raise ValueError("a name is not text")
    return user.full_name.strip()[:MAX_NAME].strip() or None


def _private(message: Message) -> bool:
    return message.chat.type == "private" and not (message.from_user and message.from_user.is_bot)


def _base(message: Message, delivery: str, received_at: datetime) -> dict[str, Any]:
    user = message.from_user
    return {
        "channel": ChannelName.TELEGRAM,
        "delivery_id": delivery,
        "address": _id(message.chat.id),
        "received_at": received_at,
        "profile_name": _name(user),
        "channel_message_id": _id(message.message_id),
        "language": user.language_code if user else None,
    }


def _from_message(message: Message, delivery: str, received_at: datetime) -> Inbound | None:
    if not _private(message):
        return None
    base = _base(message, delivery, received_at)
    command = _command(message)
    if command is not None:
        name, payload = command
        return Inbound(
            **base,
            kind=InboundKind.COMMAND,
            text=message.text,
            command=name,
            payload=payload or None,
        )
    if message.text is not None:
        return Inbound(**base, text=message.text)
    media = next((kind for kind in MEDIA if getattr(message, kind, None)), None)
    if media is None:
        return None
    return Inbound(**base, text=message.caption or None, note=f"[{media}]")


def _command(message: Message) -> tuple[str, str] | None:
    """(name, payload) of a /start, /stop or /help message; None for anything else."""
    word, _, payload = (message.text or "").partition(" ")
    if not word.startswith("/"):
        return None
    name = word[1:].split("@", 1)[0].lower()
    return (name, payload.strip()) if name in COMMANDS else None


def _from_edit(message: Message, delivery: str, received_at: datetime) -> Inbound | None:
    if not _private(message) or (message.text is None and message.caption is None):
        return None  # a live location moving is an edit too, with nothing to read
    return Inbound(
        **_base(message, delivery, received_at),
        kind=InboundKind.EDIT,
        text=message.text if message.text is not None else message.caption,
    )


def _from_button(query: CallbackQuery, delivery: str, received_at: datetime) -> Inbound | None:
    message = query.message if isinstance(query.message, Message) else None
    if message is not None and message.chat.type != "private":
        return None  # a tap in a group (the message tapped is the bot's own, sent by a bot)
    if query.from_user.is_bot or query.data is None:
        return None  # a bot, or a game's button: not a customer's choice
    return Inbound(
        channel=ChannelName.TELEGRAM,
        delivery_id=delivery,
        address=_id(message.chat.id if message else query.from_user.id),
        received_at=received_at,
        kind=InboundKind.BUTTON,
        choice=query.data,
        note=_label(message, query.data),
        callback_id=query.id,
        profile_name=_name(query.from_user),
        channel_message_id=_id(message.message_id) if message else None,
        language=query.from_user.language_code,
    )


def _label(message: Message | None, data: str | None) -> str | None:
    markup = message.reply_markup if message else None
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def _from_membership(
    change: ChatMemberUpdated, delivery: str, received_at: datetime
) -> Inbound | None:
    # In a private chat this is the bot's own membership: "kicked" is the user blocking it.
    if change.chat.type != "private":
        return None
    status = change.new_chat_member.status
    if status == "kicked":
        kind = InboundKind.BLOCKED
    elif status == "member" and change.old_chat_member.status in ("kicked", "left"):
        kind = InboundKind.UNBLOCKED
    else:
        return None
    return Inbound(
        channel=ChannelName.TELEGRAM,
        delivery_id=delivery,
        address=_id(change.chat.id),
        received_at=received_at,
        kind=kind,
    )
