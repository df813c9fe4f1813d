"""The worker tasks on taskiq, and the TaskQueue port over a taskiq broker.

The embedded mode gives this an in-memory broker that runs each task in place; the
distributed mode gives it the Redis stream broker, so `kesher worker` processes run them.
"""

from __future__ import annotations

from typing import Any

from taskiq import AsyncBroker, TaskiqScheduler
from taskiq.kicker import AsyncKicker
from taskiq.schedule_sources import LabelScheduleSource

from bot.outbox import send_outbound, sweep
from bot.pipeline import SEND_TASK
from bot.services import Services

TICK_TASK = "kesher.tick"


class TaskiqQueue:
    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker

    async def enqueue(self, task: str, /, **kwargs: Any) -> None:
        await AsyncKicker(task_name=task, broker=self.broker, labels={}).kiq(**kwargs)


def register_tasks(broker: AsyncBroker, services: Services) -> None:
    @broker.task(task_name=SEND_TASK)
    async def send(outbox_id: int) -> None:
        await send_outbound(outbox_id, services)

    @broker.task(task_name=TICK_TASK, schedule=[{"cron": "* * * * *"}])
    async def tick() -> int:
        return await sweep(services)


def scheduler_for(broker: AsyncBroker) -> TaskiqScheduler:
    """The scheduler that kicks the every-minute tick; run exactly one per deployment."""
    return TaskiqScheduler(broker, sources=[LabelScheduleSource(broker)])
