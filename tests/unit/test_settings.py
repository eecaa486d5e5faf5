"""Settings fail at start-up, naming the variable, and read shared variables with per-service overrides."""

import pytest

from services.kit.settings import SettingsError, load_settings
from services.profiles.config import Settings as ProfilesSettings
from services.voting.config import Settings as VotingSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "AGORA_TOPIC_PREFIX", "PROFILES_DATABASE_URL", "PROFILES_HTTP_PORT", "VOTING_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_missing_required_setting_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    with pytest.raises(SettingsError) as err:
        load_settings(ProfilesSettings)
    assert "PROFILES_DATABASE_URL (or DATABASE_URL) is required" in str(err.value)


def test_malformed_setting_names_it_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://x@y/z")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "no-port-here")
    monkeypatch.setenv("PROFILES_HTTP_PORT", "seventy")
    with pytest.raises(SettingsError) as err:
        load_settings(ProfilesSettings)
    text = str(err.value)
    assert "PROFILES_DATABASE_URL (or DATABASE_URL) is invalid: Value error, must be a postgresql:// URL" in text
    assert "PROFILES_KAFKA_BOOTSTRAP_SERVERS (or KAFKA_BOOTSTRAP_SERVERS) is invalid" in text
    assert "PROFILES_HTTP_PORT is invalid" in text


def test_prefixed_setting_overrides_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://a@h:5432/shared")
    monkeypatch.setenv("PROFILES_DATABASE_URL", "postgresql://a@h:5432/own")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    assert load_settings(ProfilesSettings).database_url.endswith("/own")
    voting = load_settings(VotingSettings)
    assert voting.database_url.endswith("/shared")
    assert voting.port == 8104
    assert voting.sqlalchemy_url.startswith("postgresql+asyncpg://")


def test_cli_exits_2_with_the_message(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from services.cli import main

    assert main(["serve", "profiles"]) == 2
    assert "PROFILES_DATABASE_URL (or DATABASE_URL) is required" in capsys.readouterr().err
