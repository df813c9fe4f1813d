"""The unit of work: one transaction over every repository, committed once by the caller."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from bot.ports.accounts import (
    AuditRepository,
    BusinessRepository,
    ChannelAccountRepository,
    CustomerRepository,
    IdentityRepository,
)
from bot.ports.checkins import (
    AnswerRepository,
    CheckinRepository,
    FlowRepository,
    InsightRepository,
    ScheduleRepository,
)
from bot.ports.conversations import (
    ConversationRepository,
    DeliveryLogRepository,
    EventRepository,
    MessageRepository,
    OutboxRepository,
)
from bot.ports.handoffs import AgentRepository, HandoffRepository
from bot.ports.knowledge import KnowledgeRepository, QuestionRepository


class UnitOfWork(Protocol):
    """One transaction; repositories never commit, the caller commits once."""

    businesses: BusinessRepository
    customers: CustomerRepository
    identities: IdentityRepository
    accounts: ChannelAccountRepository
    conversations: ConversationRepository
    messages: MessageRepository
    events: EventRepository
    deliveries: DeliveryLogRepository
    outbox: OutboxRepository
    schedules: ScheduleRepository
    flows: FlowRepository
    checkins: CheckinRepository
    answers: AnswerRepository
    insights: InsightRepository
    agents: AgentRepository
    handoffs: HandoffRepository
    audit: AuditRepository
    knowledge: KnowledgeRepository
    questions: QuestionRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Commit; raises DuplicateDelivery when the delivery log already had the delivery."""
        ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
