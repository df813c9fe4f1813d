"""The SQLAlchemy unit of work: one session, one transaction, committed once by the caller."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import DuplicateDelivery
from bot.ports import (
    AgentRepository,
    AnswerRepository,
    AuditRepository,
    BusinessRepository,
    ChannelAccountRepository,
    CheckinRepository,
    ConversationRepository,
    CustomerRepository,
    DeliveryLogRepository,
    EventRepository,
    FlowRepository,
    HandoffRepository,
    IdentityRepository,
    InsightRepository,
    KnowledgeRepository,
    MessageRepository,
    OutboxRepository,
    QuestionRepository,
    ScheduleRepository,
)
from storage.credentials import CredentialCipher
from storage.repositories.agents import SqlAgents
from storage.repositories.answers import SqlAnswers
from storage.repositories.audit import SqlAudit
from storage.repositories.businesses import SqlBusinesses
from storage.repositories.channel_accounts import SqlChannelAccounts
from storage.repositories.checkins import SqlCheckins
from storage.repositories.conversations import SqlConversations
from storage.repositories.customers import SqlCustomers
from storage.repositories.deliveries import SqlDeliveries
from storage.repositories.events import SqlEvents
from storage.repositories.flows import SqlFlows
from storage.repositories.handoffs import SqlHandoffs
from storage.repositories.identities import SqlIdentities
from storage.repositories.insights import SqlInsights
from storage.repositories.knowledge import SqlKnowledge
from storage.repositories.messages import SqlMessages
from storage.repositories.outbox import SqlOutbox
from storage.repositories.questions import SqlQuestions
from storage.repositories.schedules import SqlSchedules


class SqlUnitOfWork:
    """One session and transaction; `gate`, when given, lets one unit of work run at a time.

    SQLite has one writer; waiting writers otherwise sleep in its busy handler and the
    unlucky ones wait seconds. A FIFO asyncio lock makes them queue fairly instead.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cipher: CredentialCipher,
        gate: asyncio.Lock | None = None,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._gate = gate

    async def __aenter__(self) -> Self:
        if self._gate is not None:
            await self._gate.acquire()
        self.session = self._sessions()
        self.businesses: BusinessRepository = SqlBusinesses(self.session)
        self.customers: CustomerRepository = SqlCustomers(self.session)
        self.identities: IdentityRepository = SqlIdentities(self.session)
        self.accounts: ChannelAccountRepository = SqlChannelAccounts(
            self.session, cipher=self._cipher
        )
        self.conversations: ConversationRepository = SqlConversations(self.session)
        self.messages: MessageRepository = SqlMessages(self.session)
        self.events: EventRepository = SqlEvents(self.session)
        self.deliveries: DeliveryLogRepository = SqlDeliveries(self.session)
        self.outbox: OutboxRepository = SqlOutbox(self.session, cipher=self._cipher)
        self.schedules: ScheduleRepository = SqlSchedules(self.session)
        self.flows: FlowRepository = SqlFlows(self.session)
        self.checkins: CheckinRepository = SqlCheckins(self.session)
        self.answers: AnswerRepository = SqlAnswers(self.session)
        self.insights: InsightRepository = SqlInsights(self.session)
        self.agents: AgentRepository = SqlAgents(self.session)
        self.handoffs: HandoffRepository = SqlHandoffs(self.session)
        self.audit: AuditRepository = SqlAudit(self.session)
        self.knowledge: KnowledgeRepository = SqlKnowledge(self.session)
        self.questions: QuestionRepository = SqlQuestions(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
            await self.session.close()
        finally:
            if self._gate is not None:
                self._gate.release()

    async def commit(self) -> None:
        try:
            await self.session.commit()
        except IntegrityError as error:
            if "inbound_deliver" in str(error.orig):
                raise DuplicateDelivery("delivery already stored") from error
            raise

    async def rollback(self) -> None:
        await self.session.rollback()
