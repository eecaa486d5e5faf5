"""Connections settings (env prefix CONNECTIONS_), including the limits that protect members from spam."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.kit.settings import ServiceSettings

SCHEMA = "connections"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECTIONS_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "connections"
    default_http_port: ClassVar[int] = 8102

    invitation_ttl_days: int = Field(30, ge=1, le=365, description="A pending invitation expires after this many days")
    invitation_pending_cap: int = Field(100, ge=1, description="Most pending outgoing invitations a member may have")
    invitation_weekly_cap: int = Field(200, ge=1, description="Most invitations a member may send in any 7 days")
    restriction_window_days: int = Field(30, ge=1, description="Window over which declined/ignored invitations are counted")
    restriction_min_resolved: int = Field(10, ge=1, description="Resolved invitations needed before the decline rate counts")
    restriction_decline_ratio: float = Field(0.6, gt=0, le=1, description="Share of declined+expired invitations that restricts a member")
    restriction_days: int = Field(7, ge=1, description="How long a restricted member may not send invitations")
    introduction_open_cap: int = Field(5, ge=1, description="Most open introduction requests per requester")
    expiry_interval_seconds: float = Field(60.0, gt=0, description="How often the expiry worker sweeps pending invitations")

    # Conversations (docs/conversations.md)
    group_max_members: int = Field(20, ge=3, le=100, description="Most members of a group conversation, its creator included")
    message_edit_window_seconds: int = Field(900, ge=0, description="How long after sending the sender may edit a message")
    message_rate_per_minute: int = Field(60, ge=1, description="Most messages a member may send in any 60 seconds")
    new_conversations_per_hour: int = Field(30, ge=1, description="Most conversations a member may start in any hour")
    message_requests_per_day: int = Field(20, ge=1, description="Most message requests (to non-connections) a member may send in any 24 hours")
