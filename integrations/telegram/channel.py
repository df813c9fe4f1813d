"""The Telegram channel: python-telegram-bot as a typed Bot API client and update parser.

Updates arrive on Kesher's own webhook; nothing here keeps business state. Each business has
its own bot, so clients are made per token (and kept for reuse) from the business's account.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    Bot,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import MessageLimit
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.domain import (
    AccountStatus,
    Capabilities,
    ChannelAccount,
    ChannelName,
    Choice,
    DeliveryStatus,
    Inbound,
    InboundKind,
    InvalidInput,
    Outbound,
    ProviderError,
    Rate,
    SendFailed,
    SentReceipt,
    WebhookRequest,
)
from bot.domain import Forbidden as Refused
from bot.ports import RateLimiter
from integrations.chunks import split_text
from integrations.throttle import MAX_WAIT, wait_turn

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
COMMANDS = frozenset({"start", "stop", "help"})
# Telegram counts message length in UTF-16 code units, so an emoji takes two of the 4,096.
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
MAX_CALLBACK_DATA = 64
# Telegram's ids are 64-bit integers (20 characters with a sign) and its names 64 characters
# each; a longer id means a malformed update. A chat and a message id together have to fit, with
# "button:", in a 128-character key of the delivery log (bot/pipeline.py's tap key).
MAX_ID = 20
MAX_NAME = 200
# Telegram's limits: about one message a second in a chat, about thirty a second per bot.
CHAT_RATE = Rate(count=1, per=timedelta(seconds=1))
BOT_RATE = Rate(count=30, per=timedelta(seconds=1))
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


class TelegramChannel:
    """The Channel, ChannelSetup and ButtonAnswer ports for Telegram bots."""

    name = ChannelName.TELEGRAM
    capabilities = Capabilities(buttons=True, max_text=MAX_TEXT, can_initiate=False)

    def __init__(
        self,
        api_url: str,
        *,
        limiter: RateLimiter,
        chat_rate: Rate = CHAT_RATE,
        bot_rate: Rate = BOT_RATE,
        max_wait: float = MAX_WAIT,
        max_clients: int = 1000,
    ) -> None:
        self.base_url = api_url.rstrip("/") + "/bot"
        self.limiter = limiter
        self.chat_rate = chat_rate
        self.bot_rate = bot_rate
        self.max_wait = max_wait
        self._max_clients = max_clients
        self._bots: OrderedDict[str, tuple[Bot, HTTPXRequest]] = OrderedDict()

    async def parse(self, request: WebhookRequest) -> list[Inbound]:
        _verify(request)
        return parse_update(_json_object(request.body), received_at=request.received_at)

    async def send(self, outbound: Outbound) -> SentReceipt:
        token = _token(outbound.account)
        try:
            bot = await self._bot(token)
        except TelegramError as error:
            raise failure(error) from None
        parts = split_text(outbound.reply.text, limit=MAX_TEXT)
        markup = keyboard(outbound.reply.choices)
        chat = _chat_id(outbound.address)
        sent: Message | None = None
        for index, part in enumerate(parts):
            await self._wait_turn(_bot_id(token), outbound.address)
            last = index == len(parts) - 1
            try:
                sent = await bot.send_message(
                    chat_id=chat, text=part, reply_markup=markup if last else None
                )
            except TelegramError as error:
                raise failure(error) from None
        assert sent is not None
        return SentReceipt(channel_message_id=str(sent.message_id), status=DeliveryStatus.SENT)

    async def answer_button(self, inbound: Inbound, *, account: ChannelAccount) -> None:
        """Stop the tapping client's spinner and take the buttons off the message tapped."""
        try:
            bot = await self._bot(_token(account))
        except TelegramError as error:
            log.info("the bot could not start: %s", error.message)
            return
        if inbound.callback_id:
            try:
                await bot.answer_callback_query(inbound.callback_id)
            except TelegramError as error:
                log.info("answerCallbackQuery failed: %s", error.message)
        if inbound.channel_message_id and inbound.channel_message_id.isdecimal():
            try:
                await bot.edit_message_reply_markup(
                    chat_id=_chat_id(inbound.address),
                    message_id=int(inbound.channel_message_id),
                    reply_markup=None,
                )
            except TelegramError as error:
                # "message is not modified" on a second tap: the buttons are already gone.
                log.info("editMessageReplyMarkup failed: %s", error.message)

    async def connect(
        self, credentials: Mapping[str, str], *, webhook_url: str
    ) -> Mapping[str, Any]:
        token, secret = credentials.get("token", ""), credentials.get("webhook_secret", "")
        request = HTTPXRequest(connection_pool_size=2)
        bot = Bot(token, base_url=self.base_url, request=request, get_updates_request=request)
        try:
            me = await bot.get_me()
            await bot.set_webhook(
                url=webhook_url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        except (InvalidToken, Forbidden) as error:
            raise InvalidInput(
                f"Telegram refused the bot token: {error.message}", code="invalid_token"
            ) from None
        except TelegramError as error:
            raise ProviderError(f"Telegram did not answer as expected: {error.message}") from None
        finally:
            await request.shutdown()
        return {"bot_id": me.id, "username": me.username, "webhook_url": webhook_url}

    async def disconnect(self, credentials: Mapping[str, str]) -> None:
        token = credentials.get("token", "")
        request = HTTPXRequest(connection_pool_size=2)
        bot = Bot(token, base_url=self.base_url, request=request, get_updates_request=request)
        try:
            await bot.delete_webhook()
        except TelegramError as error:
            raise ProviderError(f"Telegram did not remove the webhook: {error.message}") from None
        finally:
            await request.shutdown()
            await self._forget(token)

    async def aclose(self) -> None:
        for token in list(self._bots):
            await self._forget(token)

    async def _bot(self, token: str) -> Bot:
        found = self._bots.get(token)
        if found is not None:
            self._bots.move_to_end(token)
            return found[0]
        request = HTTPXRequest(connection_pool_size=64, read_timeout=10)
        bot = Bot(token, base_url=self.base_url, request=request, get_updates_request=request)
        self._bots[token] = (bot, request)
        while len(self._bots) > self._max_clients:
            await self._forget(next(iter(self._bots)))
        # getMe, as python-telegram-bot asks before use: the HTTP stack loads and connects now,
        # not in a paced send, which would leave late and the next ones too close behind it.
        try:
            await bot.initialize()
        except TelegramError:
            await self._forget(token)
            raise
        return bot

    async def _forget(self, token: str) -> None:
        found = self._bots.pop(token, None)
        if found is not None:
            await found[1].shutdown()

    async def _wait_turn(self, bot_id: str, chat: str) -> None:
        """Wait for room under the chat's and the bot's limits, shared by every worker."""
        await wait_turn(
            self.limiter,
            (
                (f"telegram:chat:{bot_id}:{chat}", self.chat_rate),
                (f"telegram:bot:{bot_id}", self.bot_rate),
            ),
            max_wait=self.max_wait,
            provider="Telegram",
        )


def failure(error: TelegramError) -> SendFailed:
    """A Bot API error as a SendFailed that says whether to retry, and when."""
    if isinstance(error, RetryAfter):
        limited = SendFailed(
            f"Telegram: {error.message}", retryable=True, retry_after=_retry_after(error)
        )
        limited.code = "rate_limited"
        return limited
    if isinstance(error, Forbidden):
        return SendFailed(f"Telegram: {error.message}", retryable=False, unreachable=True)
    if isinstance(error, InvalidToken | BadRequest):
        return SendFailed(f"Telegram: {error.message}", retryable=False)
    return SendFailed(f"Telegram: {error.message}", retryable=isinstance(error, NetworkError))


def _retry_after(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _token(account: ChannelAccount | None) -> str:
    if account is None or account.status is not AccountStatus.CONNECTED:
        raise SendFailed("Telegram is not connected for this business", retryable=False)
    token = account.secret("token")
    if not token:
        raise SendFailed("Telegram is connected without a bot token", retryable=False)
    return token


def _bot_id(token: str) -> str:
    """The bot's numeric id, the part of the token before the colon (not secret)."""
    return token.partition(":")[0]


def _chat_id(address: str) -> int | str:
    return int(address) if address.lstrip("-").isdecimal() else address


def _verify(request: WebhookRequest) -> None:
    expected = request.account.secret("webhook_secret") if request.account else ""
    given = next((v for k, v in request.headers.items() if k.lower() == SECRET_HEADER), None)
    if not expected or given is None:
        raise Refused("missing X-Telegram-Bot-Api-Secret-Token", code="bad_secret")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refused("wrong X-Telegram-Bot-Api-Secret-Token", code="bad_secret")


def _json_object(body: bytes) -> dict[str, Any]:
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


def keyboard(choices: Sequence[Choice]) -> InlineKeyboardMarkup | None:
    """Choices as inline buttons: short labels (a 0-10 scale) up to six a row, long ones fewer."""
    if not choices:
        return None
    for choice in choices:
        if not 1 <= len(choice.id.encode()) <= MAX_CALLBACK_DATA:
            raise SendFailed(
                f"choice id {choice.id[:20]!r}… is not 1-64 bytes of callback data",
                retryable=False,
            )
    longest = max(len(c.label) for c in choices)
    width = 6 if longest <= 4 else 3 if longest <= 12 else 2 if longest <= 20 else 1
    rows = -(-len(choices) // width)
    per_row = -(-len(choices) // rows)
    buttons = [InlineKeyboardButton(c.label, callback_data=c.id) for c in choices]
    return InlineKeyboardMarkup([buttons[i : i + per_row] for i in range(0, len(buttons), per_row)])
