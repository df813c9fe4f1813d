"""The failures the core raises that a caller can explain to a person, each with a stable code."""

from __future__ import annotations


class KesherError(Exception):
    """A failure the caller can explain to a person: it carries a stable code."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(KesherError):
    code = "invalid_input"


class NotFound(KesherError):
    code = "not_found"


class Forbidden(KesherError):
    code = "forbidden"


class Overloaded(KesherError):
    """Too much slow work is already waiting (password hashes): try again after `retry_after`
    seconds."""

    code = "overloaded"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SendFailed(KesherError):
    """A channel could not send; `retryable` says whether trying again later may work, and
    `throttled` that Kesher itself held the message back (no turn under the provider's rate
    limits soon enough): nothing was tried, so no attempt is counted."""

    code = "send_failed"

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        unreachable: bool = False,
        throttled: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.throttled = throttled


class ProviderError(KesherError):
    """A provider refused or failed a setup call (a bad token, an unreachable API)."""

    code = "provider_error"


class DuplicateDelivery(KesherError):
    """The delivery was already stored (raised when a commit hits the delivery log's key)."""

    code = "duplicate_delivery"
