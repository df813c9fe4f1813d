"""The composition root: the one place that turns Settings into engines, clients and adapters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from taskiq import AsyncBroker, InMemoryBroker

from app.secret_keys import secret_keys
from app.settings import Settings, SettingsError
from app.tasks import TaskiqQueue, register_tasks
from bot.accounts.businesses import DEMO_SLUG, create_business
from bot.detection.shipped import default_detector
from bot.domain import ChannelName, Rate
from bot.ports import (
    AnswerWriter,
    Clock,
    ConversationLock,
    Idempotency,
    RateLimiter,
    SecondOpinion,
    Summarizer,
    ThemeNamer,
)
from bot.services import Services
from integrations.encoder import E5Encoder
from integrations.mail import SmtpMailer
from integrations.passwords import Argon2Hasher
from integrations.sandbox import SandboxChannel
from integrations.telegram import TelegramChannel
from integrations.whatsapp import WhatsAppChannel
from storage.credentials import CredentialCipher
from storage.database import create_engine, create_sessionmaker
from storage.memory import MemoryIdempotency, MemoryLock, MemoryRateLimiter
from storage.redis import RedisIdempotency, RedisLock, RedisRateLimiter, RedisTaskBroker
from storage.unit_of_work import SqlUnitOfWork

# Connections each process keeps to Redis, and how long a caller waits for one when all are
# busy.
REDIS_CONNECTIONS = 50
REDIS_WAIT_SECONDS = 20


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Runtime:
    """Everything one process runs on, built from one Settings object."""

    settings: Settings
    services: Services
    # The keys that seal the stored channel credentials, newest first (app.secret_keys).
    secret_keys: tuple[str, ...]
    engine: AsyncEngine
    broker: AsyncBroker
    redis: Redis | None
    telegram: TelegramChannel
    whatsapp: WhatsAppChannel
    passwords: Argon2Hasher

    async def start(self, *, worker: bool = False) -> None:
        if self.settings.is_sqlite:
            # Alembic (with Mako) is imported only where a schema is migrated, not by every
            # command and worker that starts on an existing one.
            from storage.schema import upgrade

            await upgrade(self.settings.database_url, secret_keys=self.secret_keys)
        await self._check_keys()
        self.broker.is_worker_process = worker
        await self.broker.startup()

    async def _check_keys(self) -> None:
        """Refuse to run with keys that cannot open the stored credentials: every send and
        webhook of those channels would fail."""
        async with self.services.uow() as uow:
            unreadable = await uow.accounts.unreadable()
        if unreadable:
            raise SettingsError(
                f"the secret key cannot open the stored credentials of {unreadable} channel "
                "account(s): give Kesher the key they were sealed with (KESHER_SECRET_KEY "
                "takes several, newest first, separated by commas)"
            )

    async def stop(self) -> None:
        await self.broker.shutdown()
        await self.telegram.aclose()
        await self.whatsapp.aclose()
        self.passwords.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()

    async def readiness(self) -> dict[str, bool]:
        checks = {"database": False}
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception:
            pass
        if self.redis is not None:
            try:
                checks["redis"] = bool(await self.redis.ping())
            except Exception:
                checks["redis"] = False
        return checks


def build(
    settings: Settings,
    *,
    second_opinion: SecondOpinion | None = None,
    summarizer: Summarizer | None = None,
    theme_namer: ThemeNamer | None = None,
    answer_writer: AnswerWriter | None = None,
    clock: Clock | None = None,
) -> Runtime:
    """Everything from settings; the language model's parts and `clock` replace the real ones
    (tests, tools)."""
    keys = secret_keys(settings)
    cipher = CredentialCipher(keys)
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    sessions = create_sessionmaker(engine)
    clock = clock or SystemClock()
    gate = asyncio.Lock() if settings.is_sqlite else None
    redis: Redis | None = None
    broker: AsyncBroker
    idempotency: Idempotency
    lock: ConversationLock
    limiter: RateLimiter
    if settings.redis_url is None:
        broker = InMemoryBroker(await_inplace=True)
        idempotency, lock, limiter = MemoryIdempotency(), MemoryLock(), MemoryRateLimiter()
    else:
        url = settings.redis_url.get_secret_value()
        # A bounded pool that makes callers wait for a free connection: a burst of concurrent
        # sends (a batch of 50 each booking its turn) ran redis-py's default pool, which
        # refuses the 101st caller, out of connections.
        redis = Redis(
            connection_pool=BlockingConnectionPool.from_url(
                url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_SECONDS
            )
        )
        broker = RedisTaskBroker(url, queue_name="kesher:tasks", consumer_group_name="kesher")
        idempotency, lock, limiter = (
            RedisIdempotency(redis),
            RedisLock(redis),
            RedisRateLimiter(redis),
        )
    telegram = TelegramChannel(
        str(settings.telegram_api_url),
        limiter=limiter,
        bot_rate=Rate(count=settings.telegram_bot_rate, per=timedelta(seconds=1)),
    )
    model = _language_model(settings)
    whatsapp = WhatsAppChannel(
        str(settings.twilio_api_url), public_base=settings.public_base(), limiter=limiter
    )
    passwords = Argon2Hasher(
        settings.password_hash_cost,
        threads=settings.password_hash_threads,
        queue=settings.password_hash_queue,
        # The test profile's microsecond hashes need no protecting from, and a test machine's
        # CPU is never idle.
        idle=settings.password_hash_cost == "standard",
    )
    services = Services(
        uow=lambda: SqlUnitOfWork(sessions, cipher=cipher, gate=gate),
        idempotency=idempotency,
        lock=lock,
        limiter=limiter,
        queue=TaskiqQueue(broker),
        clock=clock,
        channels={
            ChannelName.SANDBOX: SandboxChannel(),
            ChannelName.TELEGRAM: telegram,
            ChannelName.WHATSAPP: whatsapp,
        },
        detector=default_detector(encoder=settings.encoder),
        passwords=passwords,
        encoder=E5Encoder() if settings.encoder else None,
        second_opinion=second_opinion or model.second_opinion,
        summarizer=summarizer or model.summarizer,
        theme_namer=theme_namer or model.theme_namer,
        answer_writer=answer_writer or model.answer_writer,
        mailer=(
            SmtpMailer(settings.smtp_url.get_secret_value(), sender=settings.mail_from)
            if settings.smtp_url is not None
            else None
        ),
        pdf_font=str(settings.pdf_font),
        public_base=settings.public_base(),
        customer_link_lifetime=timedelta(days=settings.customer_link_days),
        setups={ChannelName.TELEGRAM: telegram, ChannelName.WHATSAPP: whatsapp},
        buttons={ChannelName.TELEGRAM: telegram},
    )
    register_tasks(broker, services)
    return Runtime(
        settings=settings,
        services=services,
        secret_keys=keys,
        engine=engine,
        broker=broker,
        redis=redis,
        telegram=telegram,
        whatsapp=whatsapp,
        passwords=passwords,
    )


@dataclass(frozen=True, slots=True)
class LanguageModel:
    """What `KESHER_LLM_MODEL` gives: a second opinion on messages, handoff summaries, names
    for feedback themes and knowledge-base answers in its own words."""

    second_opinion: SecondOpinion | None = None
    summarizer: Summarizer | None = None
    theme_namer: ThemeNamer | None = None
    answer_writer: AnswerWriter | None = None


def _language_model(settings: Settings) -> LanguageModel:
    if settings.llm_model is None:
        return LanguageModel()
    # langchain takes most of a second to import, at every start of every process; only a
    # configured model needs it.
    from integrations.llm import (
        LangchainAnswerWriter,
        LangchainSecondOpinion,
        LangchainSummarizer,
        LangchainThemeNamer,
        chat_model,
    )

    try:
        model = chat_model(settings.llm_model)
    except ValueError as error:
        raise SettingsError(f"KESHER_LLM_MODEL: {error}") from None
    return LanguageModel(
        second_opinion=LangchainSecondOpinion(model, timeout=settings.llm_timeout_seconds),
        summarizer=LangchainSummarizer(model, timeout=settings.llm_summary_timeout_seconds),
        theme_namer=LangchainThemeNamer(model, timeout=settings.llm_summary_timeout_seconds),
        answer_writer=LangchainAnswerWriter(model, timeout=settings.llm_summary_timeout_seconds),
    )


async def ensure_demo(runtime: Runtime) -> str | None:
    """Create the demo business with the sandbox on first start; its API key, or None if it exists."""
    services = runtime.services
    async with services.uow() as uow:
        if await uow.businesses.get_by_slug(DEMO_SLUG) is not None:
            return None
        _, api_key = await create_business(
            uow, DEMO_SLUG, name="Demo", sandbox=True, now=services.clock.now()
        )
        await uow.commit()
    return api_key
