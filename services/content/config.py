"""Content settings (env prefix CONTENT_)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.kit.settings import ServiceSettings

SCHEMA = "content"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTENT_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "content"
    default_http_port: ClassVar[int] = 8103

    duplicate_link_window_hours: int = Field(24 * 30, ge=0, le=24 * 3650, description="A link resubmitted within this window points to the existing post")
    max_comment_depth: int = Field(64, ge=1, le=200, description="Deepest nesting a reply may have (0 = top-level comment)")
