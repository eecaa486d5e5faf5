"""Connections settings (env prefix CONNECTIONS_)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.kit.settings import ServiceSettings

SCHEMA = "connections"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECTIONS_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "connections"
    default_http_port: ClassVar[int] = 8102
