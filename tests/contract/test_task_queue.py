"""The task queue runs what is enqueued, in place in memory and through a worker on Redis (also
after Redis lost everything)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from taskiq import AsyncBroker, InMemoryBroker
from taskiq.api import run_receiver_task

from bot.tasks import TaskiqQueue
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

    @broker.task(task_name="kesher.test.record")
    async def record(outbox_id: int) -> None:
        seen.append(outbox_id)
        if len(seen) == 5:
            done.set()

    queue = TaskiqQueue(broker)
    for n in range(5):
        await queue.enqueue("kesher.test.record", outbox_id=n)
    await asyncio.wait_for(done.wait(), timeout=10)
    await asyncio.sleep(0.2)

    assert sorted(seen) == [0, 1, 2, 3, 4]


async def test_a_worker_runs_tasks_again_after_redis_came_back_empty(
    redis_url: str, redis_client: Redis
) -> None:
    seen: list[int] = []
    async with _worker_on_redis(redis_url) as broker:

        @broker.task(task_name="kesher.test.after_restart")
        async def record(outbox_id: int) -> None:
            seen.append(outbox_id)

        await asyncio.sleep(0.2)
        await redis_client.flushdb()  # what a restart without persistence leaves
        await TaskiqQueue(broker).enqueue("kesher.test.after_restart", outbox_id=7)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.1)

    assert seen == [7]
