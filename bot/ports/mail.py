"""E-mail out, for the weekly digest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain import Attachment


class Mailer(Protocol):
    """Outgoing e-mail to the business's own people (the weekly digest), when configured."""

    async def send(
        self, to: str, subject: str, text: str, *, attachments: Sequence[Attachment] = ()
    ) -> None:
        """Hand the message to the mail server; raises SendFailed when it refuses or is down."""
        ...
