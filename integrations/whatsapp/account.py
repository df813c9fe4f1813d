"""A business's Twilio account as Kesher keeps it: the credentials, the WhatsApp sender or
Messaging Service, and the sender's throughput, read from the stored channel account."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain import ChannelAccount, Forbidden, InvalidInput

# Twilio sends at most a sender's MPS (messages a second; 80 for a WhatsApp sender unless
# raised) and queues or refuses the rest. Kesher keeps each sender under the business's MPS.
DEFAULT_MPS = 80
MAX_MPS = 400


@dataclass(frozen=True, slots=True)
class TwilioAccount:
    """A business's Twilio account and WhatsApp sender (or Messaging Service)."""

    account_sid: str
    auth_token: str = field(repr=False)
    sender: str | None = None
    messaging_service_sid: str | None = None
    mps: int = DEFAULT_MPS

    def __post_init__(self) -> None:
        if not 1 <= self.mps <= MAX_MPS:
            raise InvalidInput(
                f"the MPS (messages a second) must be 1 to {MAX_MPS}, not {self.mps}",
                code="invalid_mps",
            )
        if not self.account_sid.startswith("AC"):
            raise InvalidInput("a Twilio account SID starts with 'AC'", code="invalid_account")
        if not self.sender and not self.messaging_service_sid:
            raise InvalidInput(
                "a WhatsApp sender (whatsapp:+...) or a Messaging Service SID is needed",
                code="invalid_account",
            )
        if self.sender and not self.sender.startswith("whatsapp:+"):
            raise InvalidInput(
                f"the sender must look like whatsapp:+972..., not {self.sender!r}",
                code="invalid_account",
            )


def account_from(account: ChannelAccount | None) -> TwilioAccount:
    """A stored channel account as a TwilioAccount.

    Credentials: account_sid, auth_token. Settings: sender, messaging_service_sid, mps.
    """
    if account is None:
        raise Forbidden("WhatsApp is not connected for this business", code="not_connected")
    return TwilioAccount(
        account_sid=account.secret("account_sid") or str(account.settings.get("account_sid", "")),
        auth_token=account.secret("auth_token"),
        sender=account.settings.get("sender") or None,
        messaging_service_sid=account.settings.get("messaging_service_sid") or None,
        mps=int(account.settings.get("mps") or DEFAULT_MPS),
    )


def parse_mps(value: str | None) -> int:
    """The MPS given as text (a form, a flag); DEFAULT_MPS when empty, InvalidInput when not 1-400."""
    if value is None or not value.strip():
        return DEFAULT_MPS
    if not value.strip().isdecimal():
        raise InvalidInput(
            f"the MPS (messages a second) must be a whole number, not {value!r}",
            code="invalid_mps",
        )
    return int(value)
