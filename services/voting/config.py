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
    moderator_ids: str = Field(
        "", description="Comma-separated member ids allowed to use the moderation API (tokens with the `moderation` scope are too)",
    )
    tally_batch_size: int = Field(25_000, ge=1, le=200_000, description="Most votes the tally consumer applies in one transaction")
