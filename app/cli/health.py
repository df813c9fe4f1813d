"""A process's heartbeat and `kesher health`, the container probe of roles that serve no port.

Every long-running role (serve, worker, scheduler) touches a file of its own in the system's
temporary folder every few seconds from its event loop; `kesher health` says whether the
roles running here beat recently. A stuck event loop, or a process gone, stops the beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import typer

from app.cli.process import console, errors

ROLES = ("serve", "worker", "scheduler")
EVERY = 5.0
MAX_AGE = 60.0


def heartbeat_file(role: str) -> Path:
    return Path(tempfile.gettempdir()) / f"kesher-{role}.heartbeat"


async def _beat(role: str) -> None:
    path = heartbeat_file(role)
    while True:
        path.touch()
        await asyncio.sleep(EVERY)


@contextlib.asynccontextmanager
async def beating(role: str) -> AsyncIterator[None]:
    """The role's heartbeat while the block runs; the file is removed when it ends."""
    task = asyncio.create_task(_beat(role))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        heartbeat_file(role).unlink(missing_ok=True)


def ages(roles: tuple[str, ...], *, now: float) -> dict[str, float | None]:
    """Seconds since each role's last beat; None for a role with no heartbeat here."""
    found: dict[str, float | None] = {}
    for role in roles:
        try:
            found[role] = now - heartbeat_file(role).stat().st_mtime
        except FileNotFoundError:
            found[role] = None
    return found


def health(
    role: Annotated[
        str | None,
        typer.Option(help="the role to check (serve, worker, scheduler); default: every one here"),
    ] = None,
    max_age: Annotated[float, typer.Option(help="seconds a heartbeat may be old")] = MAX_AGE,
) -> None:
    """Exit 0 when the Kesher roles running here beat within --max-age seconds, else 1."""
    if role is not None and role not in ROLES:
        errors.print(f"[red]role: must be one of {', '.join(ROLES)}[/red]")
        raise typer.Exit(2)
    found = ages((role,) if role else ROLES, now=time.time())
    running = {r: age for r, age in found.items() if age is not None}
    if not running:
        errors.print(f"no heartbeat of {role or 'any Kesher role'} here: not running")
        raise typer.Exit(1)
    stale = [r for r, age in running.items() if age > max_age]
    missing = [r for r, age in found.items() if age is None and role]
    for name, age in running.items():
        console.print(f"{name}: last beat {age:.0f} s ago", highlight=False)
    if stale or missing:
        errors.print(f"unhealthy: {', '.join(stale + missing)}")
        raise typer.Exit(1)
