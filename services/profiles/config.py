"""Profiles settings (env prefix PROFILES_)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.kit.settings import ServiceSettings

SCHEMA = "profiles"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROFILES_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "profiles"
    default_http_port: ClassVar[int] = 8101
