"""The task queue runs what is enqueued, in place in memory and through a worker on Redis (also
after Redis lost everything)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import get_args

import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker, InMemoryBroker
from taskiq.api import run_receiver_task

from app.bootstrap import build
from app.settings import Settings
from app.tasks import TaskiqQueue
from bot.jobs import TASKS, Job, SendOutbound
from storage.redis import RedisTaskBroker


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[AsyncBroker]:
    if request.param == "memory":
        memory = InMemoryBroker(await_inplace=True)
        await memory.startup()
        yield memory
        await memory.shutdown()
        return
    async with _worker_on_redis(request.getfixturevalue("redis_url")) as stream:
        yield stream


@contextlib.asynccontextmanager
async def _worker_on_redis(url: str) -> AsyncIterator[RedisTaskBroker]:
    stream = RedisTaskBroker(url, queue_name=f"kesher:test:{uuid.uuid4().hex}")
    stream.is_worker_process = True
    await stream.startup()
    receiver = asyncio.create_task(run_receiver_task(stream))
    try:
        yield stream
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
        await stream.shutdown()


async def test_each_enqueued_task_runs_once_with_its_arguments(broker: AsyncBroker) -> None:
    seen: list[int] = []
    done = asyncio.Event()

    @broker.task(task_name=TASKS[SendOutbound])
    async def record(outbox_id: int) -> None:
        seen.append(outbox_id)
        if len(seen) == 5:
            done.set()

    queue = TaskiqQueue(broker)
    for n in range(5):
        await queue.enqueue(SendOutbound(n))
    await asyncio.wait_for(done.wait(), timeout=10)
    await asyncio.sleep(0.2)

    assert sorted(seen) == [0, 1, 2, 3, 4]


async def test_a_worker_runs_tasks_again_after_redis_came_back_empty(
    redis_url: str, redis_client: Redis
) -> None:
    seen: list[int] = []
    async with _worker_on_redis(redis_url) as broker:

        @broker.task(task_name=TASKS[SendOutbound])
        async def record(outbox_id: int) -> None:
            seen.append(outbox_id)

        await asyncio.sleep(0.2)
        await redis_client.flushdb()  # what a restart without persistence leaves
        await TaskiqQueue(broker).enqueue(SendOutbound(7))
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.1)

    assert seen == [7]


async def test_trimming_drops_only_the_tasks_that_were_run(
    redis_url: str, redis_client: Redis
) -> None:
    stream = RedisTaskBroker(redis_url, queue_name=f"kesher:test:{uuid.uuid4().hex}")
    await stream.startup()
    ids = [await redis_client.xadd(stream.queue_name, {b"data": b"%d" % n}) for n in range(5)]
    given = stream.listen()
    try:
        first, second, third = [await anext(given) for _ in range(3)]  # all five are given
        await first.ack()
        await third.ack()
        later = await redis_client.xadd(stream.queue_name, {b"data": b"not given yet"})

        # The second was given but never acknowledged (its worker may have died): it, and
        # everything after it, stays to be claimed again or run.
        assert await stream.trim() == 1
        kept = [entry for entry, _ in await redis_client.xrange(stream.queue_name)]
        assert kept == [*ids[1:], later]

        await second.ack()
        for _ in range(2):
            await (await anext(given)).ack()
        # All given are acknowledged: the last given stays as the group's mark, and the one
        # not given yet stays.
        assert await stream.trim() == 3
        assert [entry for entry, _ in await redis_client.xrange(stream.queue_name)] == [
            ids[4],
            later,
        ]
        assert (await anext(given)).data == b"not given yet"
    finally:
        await given.aclose()
        await stream.shutdown()


async def test_a_worker_trims_the_queue_of_the_tasks_it_ran(
    redis_url: str, redis_client: Redis
) -> None:
    seen: list[int] = []
    async with _worker_on_redis(redis_url) as broker:
        broker.trim_every = 0

        @broker.task(task_name=TASKS[SendOutbound])
        async def record(outbox_id: int) -> None:
            seen.append(outbox_id)

        queue = TaskiqQueue(broker)
        for n in range(20):
            await queue.enqueue(SendOutbound(n))
            await _until(lambda n=n: len(seen) == n + 1)
            await asyncio.sleep(0.05)  # its acknowledgement

        assert seen == list(range(20))
        # It trims before it asks for more: what is left is at most the task it ran last and
        # the group's mark before it.
        assert await redis_client.xlen(broker.queue_name) <= 2


async def _until(done: Callable[[], bool]) -> None:
    for _ in range(100):
        if done():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("not within 10 s")


def test_every_kind_of_job_runs_as_a_task_of_its_own(tmp_path: Path) -> None:
    runtime = build(
        Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/kesher.db")  # type: ignore[call-arg]
    )
    tasks = runtime.broker.get_all_tasks()

    assert set(get_args(Job)) == set(TASKS)
    assert len(set(TASKS.values())) == len(TASKS)
    assert set(TASKS.values()) <= set(tasks)
