"""Channel credentials sealed at rest: Fernet over the JSON of a business's secrets.

A row keeps `{"sealed": "<Fernet token>"}` instead of its tokens; no credentials at all are
kept as `{}`. The keys come from the composition root, newest first: the newest seals, and
any of them opens (MultiFernet), so a row sealed before a rotation stays readable until
`kesher secrets rotate` seals it again with the newest.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.domain import KesherError

SEALED = "sealed"
# Opened tokens kept per process: a few per business.
OPENED_KEPT = 1024


class UnreadableCredentials(KesherError):
    """Stored credentials that none of the keys given opens (or that were never sealed)."""

    code = "unreadable_credentials"


class CredentialCipher:
    """Seals and opens a business's channel credentials with the keys it is given."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        # Every send and webhook opens its account's credentials: the same few tokens, again
        # and again (bench/credential_seal.py).
        self._decrypt = functools.lru_cache(maxsize=OPENED_KEPT)(self._fernet.decrypt)

    def seal(self, credentials: Mapping[str, str]) -> dict[str, Any]:
        if not credentials:
            return {}
        plain = json.dumps(dict(credentials), sort_keys=True).encode()
        return {SEALED: self._fernet.encrypt(plain).decode()}

    def open(self, stored: Mapping[str, Any] | None) -> dict[str, str]:
        if not stored:
            return {}
        token = stored.get(SEALED)
        if not isinstance(token, str) or len(stored) != 1:
            raise UnreadableCredentials("stored channel credentials are not sealed")
        try:
            plain = self._decrypt(token.encode())
        except InvalidToken:
            raise UnreadableCredentials(
                "stored channel credentials were sealed with a key Kesher was not given"
            ) from None
        return {str(k): str(v) for k, v in json.loads(plain).items()}

    def reseal(self, stored: Mapping[str, Any] | None) -> dict[str, Any]:
        """The same credentials sealed with the newest key (UnreadableCredentials if none opens)."""
        return self.seal(self.open(stored))
