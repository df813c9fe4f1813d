"""E-mail through an SMTP server with aiosmtplib: `smtp://` upgrades with STARTTLS when the
server offers it, `smtps://` is TLS from the start; user and password come from the URL."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bot.domain import Attachment, SendFailed

TIMEOUT = 30.0


class SmtpMailer:
    def __init__(self, url: str, *, sender: str, timeout: float = TIMEOUT) -> None:
        parts = urlsplit(url)
        secure = parts.scheme == "smtps"
        self._server = {
            "hostname": parts.hostname or "localhost",
            "port": parts.port or (465 if secure else 587),
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "use_tls": secure,
            "timeout": timeout,
        }
        self._sender = sender

    async def send(
        self, to: str, subject: str, text: str, *, attachments: Sequence[Attachment] = ()
    ) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        for attached in attachments:
            main, _, sub = attached.media_type.partition("/")
            message.add_attachment(
                attached.content, maintype=main, subtype=sub, filename=attached.filename
            )
        try:
            await aiosmtplib.send(message, **self._server)  # type: ignore[arg-type]
        except aiosmtplib.SMTPRecipientsRefused as refused:
            raise SendFailed(f"the mail server refused {to}: {refused}", retryable=False) from None
        except (aiosmtplib.SMTPException, OSError) as error:
            raise SendFailed(f"the mail server failed: {error}", retryable=True) from None
