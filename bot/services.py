"""The ports the application runs on, gathered once by the composition root."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.domain import ChannelName
from bot.jobs import Job
from bot.ports import (
    AnswerWriter,
    ButtonAnswer,
    Channel,
    ChannelSetup,
    Clock,
    ConversationLock,
    Encoder,
    Idempotency,
    Mailer,
    PasswordHasher,
    RateLimiter,
    SecondOpinion,
    Summarizer,
    TaskQueue,
    ThemeNamer,
    UnitOfWorkFactory,
)
from flows.frustration import Detector

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    uow: UnitOfWorkFactory
    idempotency: Idempotency
    lock: ConversationLock
    limiter: RateLimiter
    queue: TaskQueue
    clock: Clock
    channels: Mapping[ChannelName, Channel]
    detector: Detector
    # Agents' passwords, hashed and checked away from the event loop.
    passwords: PasswordHasher
    # The bundled sentence encoder; None where it is not installed or not wanted (tests).
    encoder: Encoder | None = None
    second_opinion: SecondOpinion | None = None
    summarizer: Summarizer | None = None
    theme_namer: ThemeNamer | None = None
    # Composes knowledge-base answers in its own words, from the matched entries only.
    answer_writer: AnswerWriter | None = None
    mailer: Mailer | None = None
    # A TrueType font with Hebrew letters, for PDFs (the digest attached to its e-mail).
    pdf_font: str | None = None
    # Where Kesher is reached from outside: links in agents' alerts point into its inbox.
    public_base: str = "http://localhost:8000"
    # How long a customer's t.me deep link joins a chat to their record.
    customer_link_lifetime: timedelta = timedelta(days=30)
    setups: Mapping[ChannelName, ChannelSetup] = field(default_factory=dict)
    buttons: Mapping[ChannelName, ButtonAnswer] = field(default_factory=dict)

    async def enqueue(self, *jobs: Job) -> None:
        """Queue jobs for the workers after a commit, in order; a job the queue refuses is
        logged and left for the scheduler's minute to find again."""
        for job in jobs:
            try:
                await self.queue.enqueue(job)
            except Exception:
                log.exception("could not queue %s", job)
