"""A fake mail server on loopback (aiosmtpd): keeps every message it accepts, and can refuse
the next ones with a temporary error (451) as a busy server would."""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class FakeSmtp:
    port: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    refuse: int = 0
    """How many of the next messages to refuse with 451."""

    @property
    def url(self) -> str:
        return f"smtp://kesher:secret@127.0.0.1:{self.port}"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]

    def reset(self) -> None:
        self.received.clear()
        self.refuse = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 Try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start() -> tuple[FakeSmtp, Controller]:
    fake = FakeSmtp(port=_free_port())
    controller = Controller(
        fake,
        hostname="127.0.0.1",
        port=fake.port,
        auth_require_tls=False,
        authenticator=lambda *_: _accept(),
    )
    controller.start()
    return fake, controller


def _accept() -> Any:
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=True)
