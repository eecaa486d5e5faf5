"""Settings: one base class, one subclass per service, read from the environment at start-up.

A service's own settings use its prefix (`PROFILES_HTTP_PORT`); infrastructure every process shares is
read from unprefixed names (`DATABASE_URL`, `KAFKA_BOOTSTRAP_SERVERS`, `AGORA_*`) unless the prefixed
name overrides it. `load_settings()` turns pydantic's validation error into `SettingsError`, whose
message names each missing or malformed variable, so a misconfigured process fails at once and says why.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# field name -> shared environment variable
SHARED_VARIABLES: dict[str, str] = {
    "database_url": "DATABASE_URL",
    "kafka_bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "topic_prefix": "AGORA_TOPIC_PREFIX",
    "jwks_url": "AGORA_JWKS_URL",
    "log_level": "AGORA_LOG_LEVEL",
    "http_host": "AGORA_HTTP_HOST",
    "health_port": "AGORA_HEALTH_PORT",
    "kafka_session_timeout_ms": "AGORA_KAFKA_SESSION_TIMEOUT_MS",
}


class SettingsError(RuntimeError):
    """A required setting is missing or malformed. The message names the variables."""


class _SharedEnvironment(PydanticBaseSettingsSource):
    """Reads the unprefixed shared variables; ranked below the service's own prefixed ones."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        env = SHARED_VARIABLES.get(field_name)
        return (os.environ.get(env) if env else None), field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            value, _, _ = self.get_field_value(self.settings_cls.model_fields[name], name)
            if value is not None:
                out[name] = value
        return out


class ProcessSettings(BaseSettings):
    """What every Agora process needs. Subclasses set `model_config = SettingsConfigDict(env_prefix=...)`."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, env_prefix="AGORA_")
    service_name: ClassVar[str] = "agora"
    default_http_port: ClassVar[int] = 8000

    kafka_bootstrap_servers: str = Field(description="Kafka bootstrap servers, host:port[,host:port]")
    topic_prefix: str = Field("", description="Prefix of every Kafka topic and consumer group name")
    jwks_url: str | None = Field(None, description="Where access-token public keys are published (http(s):// or file://)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = Field(0, ge=0, le=65535, description="0 means the service's default port")
    health_port: int = Field(0, ge=0, le=65535, description="Workers serve /healthz and /readyz here; 0 = off")
    kafka_session_timeout_ms: int = Field(30000, ge=6000, le=300000, description="How long a silent consumer keeps its partitions")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _SharedEnvironment(settings_cls), file_secret_settings)

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _bootstrap(cls, v: str) -> str:
        for part in v.split(","):
            host, sep, port = part.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError("must be host:port[,host:port...]")
        return v

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if v and not all(c.isalnum() or c in "._-" for c in v):
            raise ValueError("may contain only letters, digits, '.', '_' and '-'")
        return v

    @property
    def port(self) -> int:
        return self.http_port or self.default_http_port


class ServiceSettings(ProcessSettings):
    """A service that owns a PostgreSQL schema."""

    database_url: str = Field(description="PostgreSQL URL, postgresql://user:password@host:port/db")
    db_pool_size: int = Field(10, ge=1, le=200)
    # 0: a burst beyond the pool waits for a connection instead of opening (and, on return, closing) extra
    # ones. With overflow, every burst paid PostgreSQL connection set-up on both sides: POST /v1/votes
    # in-process, 20 at once, 198 votes/s with pool 10 + overflow 10 vs 389 with pool 10 and none.
    db_max_overflow: int = Field(0, ge=0, le=200)
    http_max_in_flight: int = Field(256, ge=1, le=100_000, description="Requests one process works on at once; the next is "
                                    "refused at once with 503 `overloaded` and Retry-After rather than queued")

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, v: str) -> str:
        scheme = v.split("://", 1)[0] if "://" in v else ""
        if scheme not in {"postgresql", "postgres", "postgresql+asyncpg"}:
            raise ValueError("must be a postgresql:// URL")
        return "postgresql://" + v.split("://", 1)[1]

    @property
    def sqlalchemy_url(self) -> str:
        return "postgresql+asyncpg://" + self.database_url.split("://", 1)[1]


S = TypeVar("S", bound=ProcessSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment (plus explicit overrides), or raise SettingsError naming the variables."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        prefix = cls.model_config.get("env_prefix", "")
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            names = f"{prefix}{field.upper()}"
            if field in SHARED_VARIABLES:
                names += f" (or {SHARED_VARIABLES[field]})"
            what = "is required" if err["type"] == "missing" else f"is invalid: {err['msg']}"
            problems.append(f"{names} {what}")
        raise SettingsError(f"{cls.service_name} settings: " + "; ".join(problems)) from None
