"""The worker tasks on taskiq, and the TaskQueue port over a taskiq broker.

The embedded mode gives this an in-memory broker that runs each task in place; the
distributed mode gives it the Redis stream broker, so `kesher worker` processes run them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from taskiq import AsyncBroker, TaskiqMessage, TaskiqMiddleware, TaskiqScheduler
from taskiq.kicker import AsyncKicker
from taskiq.schedule_sources import LabelScheduleSource

from bot.checkins import dispatch, touches
from bot.conversations import queue
from bot.handoffs import alerts, signin, sla
from bot.handoffs import service as handoffs
from bot.inbound.second_opinion import review_message
from bot.insights import digest
from bot.jobs import (
    TASKS,
    AnnounceConversation,
    AnnounceHandoff,
    AnswerQuestion,
    Job,
    ReviewMessage,
    SendOutbound,
    SendOutboundBatch,
    StartCheckin,
    StartCheckins,
    TellChat,
    task_of,
)
from bot.knowledge import answering
from bot.outbound import outbox
from bot.services import Services
from bot.telemetry import correlation_id

TICK_TASK = "kesher.tick"


class TaskiqQueue:
    """The TaskQueue port: each job kicked as its task, with the delivery's correlation id."""

    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker

    async def enqueue(self, job: Job) -> None:
        task, arguments = task_of(job)
        labels = {"correlation_id": correlation_id.get() or ""}
        await AsyncKicker(task_name=task, broker=self.broker, labels=labels).kiq(**arguments)


class CorrelationMiddleware(TaskiqMiddleware):
    """Carries the delivery's correlation id from the web process into the worker's logs."""

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        correlation_id.set(str(message.labels.get("correlation_id") or "") or None)
        return message


def register_tasks(broker: AsyncBroker, services: Services) -> None:
    """One task per kind of job (the names in `bot.jobs.TASKS`), and the scheduler's minute."""
    broker.add_middlewares(CorrelationMiddleware())
    # A batch of touches holds its 50 customers' locks while it waits for a database
    # connection; a worker running a hundred of them at once held 5,000 locks and renewed them
    # all until its Redis pool ran dry. The rest wait here, holding nothing.
    making = asyncio.Semaphore(touches.BATCHES_AT_ONCE)
    sending = asyncio.Semaphore(outbox.BATCHES_AT_ONCE)

    async def send_many(job: SendOutboundBatch) -> object:
        async with sending:
            return await outbox.send_batch(job.outbox_ids, services)

    async def start_many(job: StartCheckins) -> object:
        async with making:
            return await touches.start_checkins(job.checkin_ids, services)

    runs: dict[type[Job], Callable[[Any], Awaitable[object]]] = {
        SendOutbound: lambda job: outbox.send_outbound(job.outbox_id, services),
        SendOutboundBatch: send_many,
        ReviewMessage: lambda job: review_message(job.business_id, job.message_id, services),
        AnswerQuestion: lambda job: answering.answer_question(
            job.business_id, job.message_id, services
        ),
        StartCheckin: lambda job: touches.start_checkin(job.checkin_id, services),
        StartCheckins: start_many,
        AnnounceHandoff: lambda job: alerts.announce(job.business_id, job.handoff_id, services),
        AnnounceConversation: lambda job: alerts.conversation_opened(
            job.business_id, uuid.UUID(job.conversation_id), services
        ),
        TellChat: lambda job: alerts.tell_chat(
            job.business_id, job.chat, job.text, job.key, services
        ),
    }
    for kind, run in runs.items():
        broker.register_task(_task(kind, run), task_name=TASKS[kind])

    @broker.task(task_name=TICK_TASK, schedule=[{"cron": "* * * * *"}])
    async def tick() -> int:
        queued = await dispatch.tick(services)
        now = services.clock.now()
        warned = await alerts.warn_due_soon(services, now=now)
        late = await sla.watch_sla(services, now=now)
        late += await alerts.overdue_again(services, now=now)
        woken = await queue.wake_snoozed(services, now=now)
        await handoffs.sign_out_lapsed(services, now=now)
        await signin.forget_old_attempts(services, now=now)
        told = await alerts.announce_missed(services, now=now)
        digests = await digest.send_due(services, now=now)
        questions = await answering.sweep(services, now=now)
        answered = questions + await outbox.sweep(services)
        return queued + warned + late + woken + told + digests + answered


def _task(
    kind: type[Job], run: Callable[[Any], Awaitable[object]]
) -> Callable[..., Awaitable[None]]:
    """A task function taking the job's fields as keyword arguments, as the queue carries them."""

    async def task(**fields: Any) -> None:
        await run(kind(**fields))

    task.__name__ = task.__qualname__ = kind.__name__
    return task


def scheduler_for(broker: AsyncBroker) -> TaskiqScheduler:
    """The scheduler that kicks the every-minute tick; run exactly one per deployment."""
    return TaskiqScheduler(broker, sources=[LabelScheduleSource(broker)])
