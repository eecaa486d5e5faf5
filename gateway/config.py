"""Gateway settings (env prefix GATEWAY_)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.kit.settings import ProcessSettings

SCHEMA = None  # the gateway owns no database


class Settings(ProcessSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "gateway"
    default_http_port: ClassVar[int] = 8000

    profiles_url: str = "http://127.0.0.1:8101"
    connections_url: str = "http://127.0.0.1:8102"
    content_url: str = "http://127.0.0.1:8103"
    voting_url: str = "http://127.0.0.1:8104"
    upstream_timeout_seconds: float = Field(5.0, gt=0, le=60)
    upstream_max_connections: int = Field(200, ge=1, le=10000)
    client_hash_salt: str = Field("agora", description="Salt of the client address/user-agent hashes passed to voting")
