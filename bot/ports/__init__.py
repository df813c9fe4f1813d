"""The seams between Kesher's core and the outside world: small async Protocols, one module
per topic, every name re-exported here.

Each port has one real implementation (PostgreSQL, Redis, taskiq on Redis, a provider's
SDK) and, where the embedded single-process mode or fast tests need one, an in-memory one.
"""

from bot.ports.accounts import (
    AuditRepository,
    BusinessRepository,
    ChannelAccountRepository,
    CustomerRepository,
    IdentityRepository,
)
from bot.ports.channels import ButtonAnswer, Channel, ChannelSetup
from bot.ports.checkins import (
    AnswerRepository,
    CheckinRepository,
    FlowRepository,
    InsightRepository,
    ScheduleRepository,
)
from bot.ports.clock import Clock
from bot.ports.conversations import (
    ConversationRepository,
    DeliveryLogRepository,
    EventRepository,
    MessageRepository,
    OutboxRepository,
)
from bot.ports.coordination import ConversationLock, Idempotency, RateLimiter, TaskQueue
from bot.ports.handoffs import AgentRepository, HandoffRepository
from bot.ports.knowledge import KnowledgeRepository, QuestionRepository
from bot.ports.language import (
    AnswerWriter,
    Embedding,
    Encoder,
    SecondOpinion,
    Summarizer,
    ThemeNamer,
)
from bot.ports.mail import Mailer
from bot.ports.passwords import PasswordHasher
from bot.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "AgentRepository",
    "AnswerRepository",
    "AnswerWriter",
    "AuditRepository",
    "BusinessRepository",
    "ButtonAnswer",
    "Channel",
    "ChannelAccountRepository",
    "ChannelSetup",
    "CheckinRepository",
    "Clock",
    "ConversationLock",
    "ConversationRepository",
    "CustomerRepository",
    "DeliveryLogRepository",
    "Embedding",
    "Encoder",
    "EventRepository",
    "FlowRepository",
    "HandoffRepository",
    "Idempotency",
    "IdentityRepository",
    "InsightRepository",
    "KnowledgeRepository",
    "Mailer",
    "MessageRepository",
    "OutboxRepository",
    "PasswordHasher",
    "QuestionRepository",
    "RateLimiter",
    "ScheduleRepository",
    "SecondOpinion",
    "Summarizer",
    "TaskQueue",
    "ThemeNamer",
    "UnitOfWork",
    "UnitOfWorkFactory",
]
