"""TelegramChannel: the Channel, ChannelSetup and ButtonAnswer ports over the Bot API, one
client per business's bot, each send paced under the chat's and the bot's limits."""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
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
    InvalidInput,
    Outbound,
    ProviderError,
    Rate,
    SendFailed,
    SentReceipt,
    WebhookRequest,
)
from bot.ports import RateLimiter
from integrations.chunks import split_text
from integrations.telegram.updates import ALLOWED_UPDATES, parse_update, read_update, verify
from integrations.throttle import MAX_WAIT, wait_turn

log = logging.getLogger(__name__)

# Telegram counts message length in UTF-16 code units, so an emoji takes two of the 4,096.
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH
MAX_CALLBACK_DATA = 64
# Telegram's limits: about one message a second in a chat, about thirty a second per bot.
CHAT_RATE = Rate(count=1, per=timedelta(seconds=1))
BOT_RATE = Rate(count=30, per=timedelta(seconds=1))


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
        verify(request)
        return parse_update(read_update(request.body), received_at=request.received_at)

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
