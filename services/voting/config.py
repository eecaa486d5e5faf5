"""Voting settings (env prefix VOTING_)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.kit.settings import ServiceSettings

SCHEMA = "voting"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VOTING_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "voting"
    default_http_port: ClassVar[int] = 8104
    tally_batch_size: int = Field(10_000, ge=1, le=200_000, description="Most votes the tally consumer applies in one transaction")
