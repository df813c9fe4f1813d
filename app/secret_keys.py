"""The keys that seal the stored channel credentials: KESHER_SECRET_KEY, or with SQLite a key
file kept next to the database (`kesher.db` → `kesher.db.key`), made on first start, readable by
its owner only.

PostgreSQL (the distributed mode) has no "next to the database": without KESHER_SECRET_KEY
Kesher refuses to start, so that no process seals with a key the others do not have.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from app.settings import Settings, SettingsError

log = logging.getLogger(__name__)
KEY_FILE_SUFFIX = ".key"
OWNER_ONLY = 0o600


def new_key() -> str:
    return Fernet.generate_key().decode()


def key_file(settings: Settings) -> Path | None:
    """The key file of a SQLite database on disk; None for PostgreSQL or a database in memory."""
    if not settings.is_sqlite:
        return None
    database = make_url(settings.database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).with_name(Path(database).name + KEY_FILE_SUFFIX).absolute()


def secret_keys(settings: Settings) -> tuple[str, ...]:
    """The keys, newest first: the setting's, else the key file's (made now if there is none).

    Raises SettingsError on PostgreSQL without KESHER_SECRET_KEY."""
    if settings.secret_keys:
        return settings.secret_keys
    path = key_file(settings)
    if path is not None:
        return _from_file(path)
    if settings.is_sqlite:
        # A database in memory dies with the process, and so may its key.
        return (new_key(),)
    raise SettingsError(
        "KESHER_SECRET_KEY is not set. With PostgreSQL every Kesher process must seal and open "
        "the stored channel credentials with the same key: make one with `kesher secrets "
        "new-key`, keep it with your other secrets, and give it to every process (web, worker, "
        "scheduler, migrations)."
    )


def _from_file(path: Path) -> tuple[str, ...]:
    if not path.exists() and write_keys(path, [new_key()], replace=False):
        log.warning(
            "made a secret key for the stored channel credentials at %s (owner only); back it "
            "up, apart from the database's backups: without it the credentials cannot be read",
            path,
        )
    else:
        # Every `kesher` command opens the key: said once, when made, not on each command.
        log.debug("the secret key for the stored channel credentials is kept at %s", path)
        if path.stat().st_mode & 0o077:
            log.warning("%s can be read by others than its owner: chmod 600 it", path)
    keys = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise SettingsError(f"{path} holds something that is not a Fernet key") from None
    if not keys:
        raise SettingsError(f"{path} holds no key")
    return keys


def write_keys(path: Path, keys: Sequence[str], *, replace: bool = True) -> bool:
    """Write the key file whole or not at all (a new file moved into place), owner only.

    With `replace` false an existing file is kept (another process made it first): False."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.new")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(keys) + "\n")
        file.flush()
        os.fsync(file.fileno())
    if replace:
        os.replace(partial, path)
        return True
    try:
        os.link(partial, path)
    except FileExistsError:
        return False
    finally:
        partial.unlink()
    return True
