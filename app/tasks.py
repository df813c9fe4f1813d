"""The worker tasks on taskiq, and the TaskQueue port over a taskiq broker.

The embedded mode gives this an in-memory broker that runs each task in place; the
distributed mode gives it the Redis stream broker, so `kesher worker` processes run them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from taskiq import AsyncBroker, TaskiqMessage, TaskiqMiddleware, TaskiqScheduler
from taskiq.kicker import AsyncKicker
from taskiq.schedule_sources import LabelScheduleSource

from bot.checkins import dispatch as checkins
from bot.handoffs import alerts
from bot.handoffs import service as handoffs
from bot.inbound.second_opinion import REVIEW_TASK, review_message
from bot.insights import digest
from bot.outbound import outbox
from bot.outbound.replies import SEND_BATCH_TASK, SEND_TASK
from bot.services import Services
from bot.telemetry import correlation_id

TICK_TASK = "kesher.tick"


class TaskiqQueue:
    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker

    async def enqueue(self, task: str, /, **kwargs: Any) -> None:
        labels = {"correlation_id": correlation_id.get() or ""}
        await AsyncKicker(task_name=task, broker=self.broker, labels=labels).kiq(**kwargs)


class CorrelationMiddleware(TaskiqMiddleware):
    """Carries the delivery's correlation id from the web process into the worker's logs."""

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        correlation_id.set(str(message.labels.get("correlation_id") or "") or None)
        return message


def register_tasks(broker: AsyncBroker, services: Services) -> None:
    broker.add_middlewares(CorrelationMiddleware())
    # A batch of touches holds its 50 customers' locks while it waits for a database
    # connection; a worker running a hundred of them at once held 5,000 locks and renewed them
    # all until its Redis pool ran dry. The rest wait here, holding nothing.
    making = asyncio.Semaphore(checkins.BATCHES_AT_ONCE)
    sending = asyncio.Semaphore(outbox.BATCHES_AT_ONCE)

    @broker.task(task_name=SEND_TASK)
    async def send(outbox_id: int) -> None:
        await outbox.send_outbound(outbox_id, services)

    @broker.task(task_name=SEND_BATCH_TASK)
    async def send_many(outbox_ids: list[int]) -> None:
        async with sending:
            await outbox.send_batch(outbox_ids, services)

    @broker.task(task_name=REVIEW_TASK)
    async def review(business_id: int, message_id: int) -> None:
        await review_message(business_id, message_id, services)

    @broker.task(task_name=checkins.START_TASK)
    async def start_checkin(checkin_id: int) -> None:
        await checkins.start_checkin(checkin_id, services)

    @broker.task(task_name=checkins.START_BATCH_TASK)
    async def start_checkins(checkin_ids: list[int]) -> None:
        async with making:
            await checkins.start_checkins(checkin_ids, services)

    @broker.task(task_name=alerts.ALERT_TASK)
    async def announce(business_id: int, handoff_id: int) -> int:
        return await alerts.announce(business_id, handoff_id, services)

    @broker.task(task_name=alerts.TELL_TASK)
    async def tell(business_id: int, chat: str, text: str, key: str) -> None:
        await alerts.tell_chat(business_id, chat, text, key, services)

    @broker.task(task_name=TICK_TASK, schedule=[{"cron": "* * * * *"}])
    async def tick() -> int:
        queued = await checkins.tick(services)
        now = services.clock.now()
        late = await handoffs.watch_sla(services, now=now)
        await handoffs.sign_out_lapsed(services, now=now)
        told = await alerts.announce_missed(services, now=now)
        digests = await digest.send_due(services, now=now)
        return queued + late + told + digests + await outbox.sweep(services)


def scheduler_for(broker: AsyncBroker) -> TaskiqScheduler:
    """The scheduler that kicks the every-minute tick; run exactly one per deployment."""
    return TaskiqScheduler(broker, sources=[LabelScheduleSource(broker)])
