"""Passwords hashed in threads of their own: the event loop goes on while one is checked, a
full queue is refused at once, and an unknown account costs a check all the same."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import argon2
import pytest

from bot.domain import Overloaded
from integrations.passwords import Argon2Hasher


async def test_a_checked_password_matches_and_a_wrong_or_broken_one_does_not() -> None:
    hasher = Argon2Hasher("test")
    stored = await hasher.hash("correct horse battery")

    assert await hasher.verify(stored, "correct horse battery")
    assert not await hasher.verify(stored, "correct horse battery!")
    assert not await hasher.verify("not a hash", "correct horse battery")
    assert not await hasher.verify(None, "correct horse battery")
    hasher.close()


async def test_the_event_loop_goes_on_while_a_standard_password_is_checked() -> None:
    hasher = Argon2Hasher("standard", idle=False)
    stored = argon2.PasswordHasher().hash("correct horse battery")
    ticks = 0

    checking = asyncio.create_task(hasher.verify(stored, "correct horse battery"))
    while not checking.done():
        await asyncio.sleep(0.001)
        ticks += 1

    # A check on the loop's own thread would have let no tick through until it was over.
    assert await checking and ticks > 10
    hasher.close()


async def test_one_check_more_than_the_threads_and_queue_hold_is_refused_at_once() -> None:
    hasher = Argon2Hasher("standard", threads=1, queue=1, idle=False)
    stored = argon2.PasswordHasher().hash("correct horse battery")

    running = asyncio.create_task(hasher.verify(stored, "one"))
    waiting = asyncio.create_task(hasher.verify(stored, "two"))
    await asyncio.sleep(0)
    with pytest.raises(Overloaded) as refused:
        await hasher.verify(stored, "three")

    assert refused.value.retry_after > 0
    assert not running.done() and not waiting.done()
    assert await asyncio.gather(running, waiting) == [False, False]
    assert await hasher.verify(stored, "correct horse battery")  # room again
    hasher.close()


async def test_an_unknown_account_is_checked_against_a_hash_of_the_same_cost() -> None:
    hasher = Argon2Hasher("standard", threads=1, queue=0, idle=False)
    stored = argon2.PasswordHasher().hash("correct horse battery")

    unknown = asyncio.create_task(hasher.verify(None, "correct horse battery"))
    await asyncio.sleep(0)
    # The dummy check holds the only thread as a real one would.
    with pytest.raises(Overloaded):
        await hasher.verify(stored, "correct horse battery")
    assert await unknown is False
    hasher.close()


def test_the_test_profile_is_cheap_and_the_standard_one_is_the_librarys() -> None:
    standard = argon2.PasswordHasher()

    assert Argon2Hasher("standard").needs_rehash(standard.hash("x")) is False
    assert Argon2Hasher("standard").needs_rehash(
        argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("x")
    )
    assert Argon2Hasher("test").needs_rehash(standard.hash("x"))


@pytest.mark.skipif(sys.platform != "linux", reason="SCHED_IDLE is Linux's")
async def test_passwords_are_hashed_only_on_cpu_nothing_else_wants() -> None:
    hasher = Argon2Hasher("test")
    before = set(threading.enumerate())

    await hasher.hash("correct horse battery")
    (thread,) = [
        t for t in threading.enumerate() if t.name.startswith("argon2") and t not in before
    ]

    assert thread.native_id is not None
    assert os.sched_getscheduler(thread.native_id) == os.SCHED_IDLE
    hasher.close()
