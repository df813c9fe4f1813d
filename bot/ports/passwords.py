"""Password hashing: slow on purpose, so it runs away from the event loop, in a bounded queue."""

from __future__ import annotations

from typing import Protocol


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str:
        """The password's hash to keep; `Overloaded` when too many hashes are waiting."""
        ...

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches the kept hash. With None (no such account) a hash of
        the same cost is checked all the same and the answer is False, so an unknown account
        takes as long as a known one. `Overloaded` when too many hashes are waiting."""
        ...

    def has_room(self) -> bool:
        """Whether a check asked for now would be taken rather than refused as `Overloaded`
        (a caller asks before doing any other work for it)."""
        ...

    def needs_rehash(self, stored: str) -> bool:
        """Whether a hash was made with other parameters than today's (hash it again)."""
        ...
