"""Voting settings (env prefix VOTING_)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.kit.settings import ServiceSettings

SCHEMA = "voting"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VOTING_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "voting"
    default_http_port: ClassVar[int] = 8104
