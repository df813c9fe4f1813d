"""WhatsAppChannel: the Channel port for WhatsApp through Twilio, tying the webhooks, the
account and the sender together."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot.domain import (
    Capabilities,
    ChannelName,
    Forbidden,
    Inbound,
    InvalidInput,
    Outbound,
    SendFailed,
    SentReceipt,
    WebhookRequest,
)
from bot.ports import RateLimiter
from integrations.whatsapp.account import TwilioAccount, account_from, parse_mps
from integrations.whatsapp.sending import MAX_TEXT, WhatsAppSender
from integrations.whatsapp.statuses import StatusUpdate
from integrations.whatsapp.webhooks import SIGNATURE_HEADER, parse_inbound, parse_status, public_url

# WhatsApp's customer-service window: free-form messages only within 24 h of the customer's
# last message; outside it only an approved template may be sent.
REPLY_WINDOW = timedelta(hours=24)
CAPABILITIES = Capabilities(
    buttons=True, max_text=MAX_TEXT, can_initiate=False, reply_window=REPLY_WINDOW
)


class WhatsAppChannel:
    """The Channel port for WhatsApp through Twilio, over this package's webhooks and sender."""

    name = ChannelName.WHATSAPP
    capabilities = CAPABILITIES

    def __init__(
        self,
        api_url: str,
        *,
        public_base: str,
        limiter: RateLimiter | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.public_base = public_base.rstrip("/")
        self.sender = WhatsAppSender(api_url, timeout=timeout, limiter=limiter)

    async def parse(self, request: WebhookRequest) -> list[Inbound]:
        return parse_inbound(
            request.body,
            url=public_url(self.public_base, request.url),
            signature=_header(request.headers, SIGNATURE_HEADER),
            account=_webhook_account(request),
            received_at=request.received_at,
        )

    def status(self, request: WebhookRequest) -> StatusUpdate:
        return parse_status(
            request.body,
            url=public_url(self.public_base, request.url),
            signature=_header(request.headers, SIGNATURE_HEADER),
            account=_webhook_account(request),
            received_at=request.received_at,
        )

    async def send(self, outbound: Outbound) -> SentReceipt:
        try:
            account = account_from(outbound.account)
        except (Forbidden, InvalidInput) as error:
            raise SendFailed(f"WhatsApp: {error.message}", retryable=False) from None
        return await self.sender.send(
            outbound,
            account=account,
            status_callback=f"{self.public_base}/webhooks/whatsapp/{outbound.business}/status",
        )

    async def connect(
        self, credentials: Mapping[str, str], *, webhook_url: str
    ) -> Mapping[str, Any]:
        """Check the values; Twilio's webhook URLs are pasted in its console by the owner.

        `mps` (optional, 1-400, default 80) is the sender's throughput, kept in the settings.
        """
        if not credentials.get("auth_token", "").strip():
            raise InvalidInput("the Twilio auth token is empty", code="invalid_account")
        account = TwilioAccount(
            account_sid=credentials.get("account_sid", "").strip(),
            auth_token=credentials["auth_token"].strip(),
            sender=credentials.get("sender", "").strip() or None,
            messaging_service_sid=credentials.get("messaging_service_sid", "").strip() or None,
            mps=parse_mps(credentials.get("mps")),
        )
        return {
            "sender": account.sender,
            "messaging_service_sid": account.messaging_service_sid,
            "mps": account.mps,
            "webhook_url": webhook_url,
            "status_url": f"{webhook_url}/status",
        }

    async def disconnect(self, credentials: Mapping[str, str]) -> None:
        """Nothing to undo at Twilio; the stored credentials are dropped by the caller."""

    async def aclose(self) -> None:
        await self.sender.aclose()


def _webhook_account(request: WebhookRequest) -> TwilioAccount:
    try:
        return account_from(request.account)
    except InvalidInput as error:
        # A half-configured account cannot verify anything: refuse, never a 400 to Twilio.
        raise Forbidden(f"WhatsApp: {error.message}", code="not_connected") from None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)
