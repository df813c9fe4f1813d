"""Channels: a provider's webhooks in and messages out, connecting accounts, and button answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bot.domain import (
    Capabilities,
    ChannelAccount,
    ChannelName,
    Inbound,
    Outbound,
    SentReceipt,
    WebhookRequest,
)


class Channel(Protocol):
    name: ChannelName
    capabilities: Capabilities

    async def parse(self, request: WebhookRequest) -> list[Inbound]:
        """Verify the provider's signature, then normalise; raises InvalidInput or Forbidden."""
        ...

    async def send(self, outbound: Outbound) -> SentReceipt: ...


class ChannelSetup(Protocol):
    """Connecting a business's account at the provider (Telegram's getMe and setWebhook)."""

    async def connect(
        self, credentials: Mapping[str, str], *, webhook_url: str
    ) -> Mapping[str, Any]:
        """Check the credentials and point the provider at `webhook_url`; returns settings to keep.

        Raises InvalidInput when the provider refuses the credentials, ProviderError otherwise.
        """
        ...

    async def disconnect(self, credentials: Mapping[str, str]) -> None: ...


class ButtonAnswer(Protocol):
    """Settles a button tap at the provider: stops the spinner and takes the buttons away."""

    async def answer_button(self, inbound: Inbound, *, account: ChannelAccount) -> None: ...
