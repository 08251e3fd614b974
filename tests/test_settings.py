from __future__ import annotations

import pytest

from config.settings import ConfigError, LogFormat, load_settings
from storage.crypto import format_master_key, generate_master_key

_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "TRAAACTION_KEYS",
    "PUBLIC_BASE_URL",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "WORKER_PROCESSES",
    "TRAAACTION_DATA_DIR",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


def test_defaults_mean_the_embedded_default() -> None:
    settings = load_settings()
    assert settings.embedded_postgres
    assert settings.embedded_redis
    assert settings.master_keys is None
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert settings.log_format is LogFormat.AUTO


def test_plain_postgresql_urls_are_driven_through_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/app")
    assert load_settings().database_url == "postgresql+psycopg://u@db:5432/app"


def test_keys_parse_first_key_first(monkeypatch: pytest.MonkeyPatch) -> None:
    new, old = generate_master_key("new"), generate_master_key("old")
    monkeypatch.setenv("TRAAACTION_KEYS", f"{format_master_key(new)},{format_master_key(old)}")
    keys = load_settings().master_keys
    assert keys is not None
    assert [k.key_id for k in keys] == ["new", "old"]
    assert keys[0].key == new.key


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://root@db/app", "DATABASE_URL: must start with postgresql"),
        ("REDIS_URL", "http://cache", "REDIS_URL: must start with redis://"),
        ("TRAAACTION_KEYS", "k1:c2hvcnQ", "TRAAACTION_KEYS: key 'k1' must decode to 32 bytes"),
        ("TRAAACTION_KEYS", "no-colon", "TRAAACTION_KEYS: entry 1 is not of the form"),
        ("PUBLIC_BASE_URL", "hooks.example.com", "PUBLIC_BASE_URL: must start with http"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: must be one of"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT:"),
        ("WORKER_PROCESSES", "0", "WORKER_PROCESSES:"),
        ("PAYLOAD_RETENTION_DAYS", "0", "PAYLOAD_RETENTION_DAYS:"),
        ("EVENT_LOG_RETENTION_DAYS", "30", "EVENT_LOG_RETENTION_DAYS:"),
        ("OPS_TOKEN", "short", "OPS_TOKEN: must be at least 32 characters"),
    ],
)
def test_a_malformed_variable_gives_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_an_ops_token_too_short_is_refused_without_being_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPS_TOKEN", "hunter2-is-not-a-token")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "hunter2" not in str(raised.value)
    monkeypatch.setenv("OPS_TOKEN", "x" * 40)
    token = load_settings().ops_token
    assert token is not None
    assert "x" * 40 not in repr(token)


def test_a_config_error_never_echoes_key_material(monkeypatch: pytest.MonkeyPatch) -> None:
    good = format_master_key(generate_master_key("k1"))
    material = good.split(":", 1)[1]
    monkeypatch.setenv("TRAAACTION_KEYS", f"{good},{good}")  # duplicate id
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "appears twice" in str(raised.value)
    assert material not in str(raised.value)
