"""Task queues for tests that drive the workers by hand."""

from __future__ import annotations

from bot.jobs import Job, SendOutbound, SendOutboundBatch


class RecordingQueue:
    """Keeps the outbox ids handed to the workers, in order, and runs nothing."""

    def __init__(self) -> None:
        self.queued: list[int] = []

    async def enqueue(self, job: Job) -> None:
        if isinstance(job, SendOutboundBatch):
            self.queued += job.outbox_ids
        elif isinstance(job, SendOutbound):
            self.queued.append(job.outbox_id)
        else:
            raise AssertionError(f"only sends are queued here, not {job}")
