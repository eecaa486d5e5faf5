"""Profiles settings (env prefix PROFILES_).

Production defaults are the safe ones (argon2id at the library's recommended cost, 15-minute access
tokens); tests lower the argon2 cost and the trust thresholds through explicit overrides.
"""

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.kit.settings import ServiceSettings

SCHEMA = "profiles"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROFILES_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "profiles"
    default_http_port: ClassVar[int] = 8101

    signing_keys_file: Path | None = Field(
        None, description="JSON JWK set of Ed25519 private keys (`python -m services.profiles.keys generate PATH`); the first signs"
    )
    access_token_ttl_seconds: int = Field(900, ge=60, le=3600)
    refresh_token_ttl_seconds: int = Field(30 * 86400, ge=600, le=365 * 86400)

    argon2_time_cost: int = Field(3, ge=1, le=20)
    argon2_memory_kib: int = Field(65536, ge=8, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(4, ge=1, le=16)

    # Failed sign-ins: this many are free within the window, then each further failure doubles the wait.
    login_failure_window_seconds: int = Field(900, ge=10)
    login_free_failures_per_account: int = Field(5, ge=1)
    login_free_failures_per_address: int = Field(30, ge=1)
    login_backoff_base_seconds: float = Field(2.0, gt=0)
    login_backoff_max_seconds: float = Field(900.0, gt=0)

    # A search ranks at most this many public matches: a term shared by a large share of members stays cheap
    # (the rest of its matches are not reachable by paging; members refine the query).
    search_max_candidates: int = Field(1000, ge=10, le=100_000)

    email_verification_ttl_seconds: int = Field(24 * 3600, ge=60)

    # Trust levels (see trust.py): a verified email is required for anything above `new`.
    trust_member_age_days: float = Field(7.0, ge=0)
    trust_member_karma: int = 10
    trust_trusted_age_days: float = Field(30.0, ge=0)
    trust_trusted_karma: int = 100
