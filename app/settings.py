"""Kesher's configuration: environment variables with the KESHER_ prefix, or a `.env` file.

Read once, by the composition root; nothing else reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain import KesherError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KESHER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./kesher.db"
    # Connections each process keeps to PostgreSQL, and never more: every web, worker and
    # scheduler process together must stay under the server's max_connections (100 by default).
    database_pool_size: int = Field(default=15, ge=1, le=200)
    redis_url: SecretStr | None = None
    public_url: AnyHttpUrl = AnyHttpUrl("http://localhost:8000")
    telegram_api_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    twilio_api_url: AnyHttpUrl = AnyHttpUrl("https://api.twilio.com")
    telegram_bot_rate: int = Field(
        default=30,
        ge=1,
        le=1000,
        description="Messages a second per Telegram bot: 30 by Telegram's rules, up to 1000 "
        "for a bot with paid broadcasts",
    )
    encoder: bool = Field(
        default=True,
        description="The bundled sentence encoder (multilingual-e5-small, offline): the "
        "detector's second tone and the knowledge base's matching; false leaves both to words",
    )
    llm_model: str | None = None
    llm_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    llm_summary_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    sandbox_open: bool | None = Field(
        default=None, description="Sandbox without an API key; default: on without Redis only"
    )
    pdf_font: Path = Field(
        default=Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        description="A TrueType font with Hebrew letters, for PDF downloads",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:password@host:587 (STARTTLS) or smtps://…:465; unset: no e-mail",
    )
    mail_from: str = "Kesher <kesher@localhost>"
    password_hash_cost: Literal["standard", "test"] = Field(
        default="standard",
        description="argon2id's parameters for agents' passwords: standard (64 MiB, about "
        "0.2 s); test hashes in microseconds and protects nothing: for test suites only",
    )
    password_hash_threads: int = Field(
        default=1, ge=1, le=64, description="Threads of each web process that hash passwords"
    )
    password_hash_queue: int = Field(
        default=8,
        ge=0,
        le=1000,
        description="Passwords waiting for a hashing thread before sign-ins are answered 503",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet keys that seal the stored channel credentials, newest first, "
        "separated by commas (`kesher secrets new-key` makes one); required with PostgreSQL; "
        "unset with SQLite: a key file next to the database, made on first start",
    )
    customer_link_days: int = Field(
        default=30, ge=1, le=365, description="Days a customer's t.me deep link works"
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    body_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="A request body still arriving after this long is refused (408)",
    )
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    demo: bool = Field(default=True, description="Create the demo business on first start")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        drivers = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
        if not value.startswith(drivers):
            raise ValueError(
                "must be an async SQLAlchemy URL starting with "
                + " or ".join(drivers)
                + f", got {value.split('://')[0]}://..."
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("redis://", "rediss://")):
            raise ValueError("must start with redis:// or rediss://")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                raise ValueError("must be smtp://[user:password@]host[:port] or smtps://…")
        return value

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        keys = [k.strip() for k in value.get_secret_value().split(",")]
        for key in keys:
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    "must be Fernet keys (32 url-safe base64-encoded bytes each) separated by "
                    "commas, newest first; `kesher secrets new-key` makes one"
                ) from None
        return SecretStr(",".join(keys))

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    @model_validator(mode="after")
    def _sandbox_default(self) -> Settings:
        if self.sandbox_open is None:
            self.sandbox_open = self.redis_url is None
        return self

    @property
    def embedded(self) -> bool:
        return self.redis_url is None

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """KESHER_SECRET_KEY's keys, newest first; empty when it is unset."""
        if self.secret_key is None:
            return ()
        return tuple(self.secret_key.get_secret_value().split(","))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def public_base(self) -> str:
        return str(self.public_url).rstrip("/")


class SettingsError(KesherError):
    code = "bad_settings"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; one clear message naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = [
            f"  KESHER_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        ]
        raise SettingsError("Invalid settings:\n" + "\n".join(lines)) from None
