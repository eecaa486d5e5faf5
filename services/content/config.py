"""Content settings (env prefix CONTENT_)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.kit.settings import ServiceSettings

SCHEMA = "content"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTENT_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "content"
    default_http_port: ClassVar[int] = 8103
