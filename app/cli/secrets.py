"""`kesher secrets`: the key that seals the stored channel credentials, and its rotation."""

from __future__ import annotations

import typer

from app.bootstrap import Runtime
from app.cli.process import configured, console, run
from app.secret_keys import key_file, new_key, secret_keys, write_keys

secrets_app = typer.Typer(
    help="The key that seals the stored channel credentials.", no_args_is_help=True
)
# Accounts sealed again per transaction: locks stay short while the app runs beside.
RESEAL_BATCH = 100


@secrets_app.command("new-key")
def secrets_new_key() -> None:
    """Print a new key for KESHER_SECRET_KEY (kept nowhere: store it with your secrets)."""
    typer.echo(new_key())


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Seal every stored credential again with the newest key.

    With KESHER_SECRET_KEY: put the new key first (new,old), restart every process with that
    list, run this, then drop the old key. With SQLite's key file: stop Kesher first; a new key
    is made, everything is sealed with it, and the old key leaves the file.
    """
    settings = configured()
    path = None if settings.secret_keys else key_file(settings)
    if path is not None:
        write_keys(path, [new_key(), *secret_keys(settings)])
    sealed = 0

    async def work(runtime: Runtime) -> None:
        nonlocal sealed
        sealed = await reseal(runtime)

    run(work)
    console.print(f"sealed {sealed} channel account(s) with the newest key")
    if path is not None:
        write_keys(path, secret_keys(settings)[:1])
        console.print(
            f"{path} now holds only the new key: back it up, apart from the database's backups"
        )
    else:
        console.print(
            "every credential is sealed with the first key of KESHER_SECRET_KEY; the older "
            "keys can be dropped once every process runs with the new list"
        )


async def reseal(runtime: Runtime) -> int:
    """Seal every channel account's credentials again with the newest key, a batch per
    transaction; how many."""
    total, after = 0, 0
    while True:
        async with runtime.services.uow() as uow:
            done = await uow.accounts.reseal(after=after, limit=RESEAL_BATCH)
            if done is None:
                return total
            await uow.commit()
        count, after = done
        total += count
