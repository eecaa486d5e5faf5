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
    upstream_timeout_seconds: float = Field(5.0, gt=0, le=60, description="Deadline of one attempt at an upstream call")
    upstream_connect_timeout_seconds: float = Field(2.0, gt=0, le=30)
    upstream_max_connections: int = Field(200, ge=1, le=10000)
    jwks_refresh_seconds: float = Field(5.0, ge=0.05, le=3600, description="At most one JWKS refetch per this interval, on an unknown key id")
    client_hash_salt: str = Field("agora", description="Salt of the client address/user-agent hashes passed to voting")

    # Retries (idempotent methods only) and the circuit breaker, per upstream.
    upstream_retries: int = Field(2, ge=0, le=5, description="Extra attempts for GET/HEAD/PUT/DELETE after a transport failure or a 502/503/504")
    upstream_backoff_seconds: float = Field(0.05, ge=0, le=5, description="Base of the full-jitter exponential backoff")
    breaker_failures: int = Field(5, ge=1, le=1000, description="Consecutive failures that open an upstream's circuit")
    breaker_reset_seconds: float = Field(5.0, gt=0, le=300, description="How long an open circuit fails fast before one probe is let through")

    # Aggregated views (gateway/views.py).
    view_enrichment_seconds: float = Field(1.5, gt=0, le=60, description="How long a view waits for its optional parts "
                                           "(scores, votes, author cards...) before answering without the late ones")
    view_max_in_flight: int = Field(32, ge=1, le=100000, description="Views one gateway process works on at once; more are "
                                    "refused at once with 503 `overloaded` rather than queued behind work nobody waits for")

    # Rate limits on writes; see docs/gateway.md for the exact semantics with several replicas.
    rate_limits_enabled: bool = True
    replicas: int = Field(1, ge=1, le=1000, description="Gateway replicas behind the load balancer: each enforces limit/replicas")
    rate_limit_scale: float = Field(1.0, gt=0, le=10000, description="Multiplies every limit (e.g. for load tests from one address)")
    trust_forwarded_for: bool = Field(False, description="Take the client address from X-Forwarded-For (only behind a trusted proxy)")

    # Live streams.
    streams_enabled: bool = Field(True, description="Serve /v1/streams (needs Kafka); off for replicas that only proxy")
    stream_buffer: int = Field(1000, ge=1, le=100000, description="Events buffered per subscriber before a slow one is disconnected")
    stream_heartbeat_seconds: float = Field(15.0, gt=0, le=300)
    stream_retry_ms: int = Field(3000, ge=0, le=600000, description="Reconnect delay hinted to clients (SSE `retry:`)")
    stream_write_timeout_seconds: float = Field(10.0, gt=0, le=300, description="A client that cannot take one write in this time is dropped")
    stream_connect_wait_seconds: float = Field(15.0, ge=0, le=300, description="How long start-up waits for Kafka before serving without streams")
    stream_max_catchup: int = Field(8, ge=1, le=1000, description="Concurrent resume reads from Kafka per process")

    def jwks(self) -> str:
        """Where tokens' public keys come from: AGORA_JWKS_URL, else profiles' well-known JWKS."""
        return self.jwks_url or f"{self.profiles_url.rstrip('/')}/.well-known/jwks.json"
