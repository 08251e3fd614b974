from __future__ import annotations

import json
import logging

import pytest

from config.logs import configure_logging, get_logger, redact
from config.settings import LogFormat


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "rk_live_51Habcdefghijklmnop",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "k1:" + "A" * 43,
    ],
)
def test_redact_masks_secrets_and_keys(secret: str) -> None:
    assert secret not in redact(f"failed with {secret} in it")
    assert "[redacted]" in redact(f"failed with {secret} in it")


def test_redact_keeps_ordinary_text() -> None:
    text = "endpoint ep_abc secret sec_123 last4 Sw42 workspace ws_1"
    assert redact(text) == text


def test_log_lines_are_json_on_stderr_and_never_carry_a_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", LogFormat.JSON)
    try:
        get_logger("test").info("secret.added", hint="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        captured = capsys.readouterr()
    finally:
        logging.getLogger().handlers.clear()
    assert captured.out == ""
    line = json.loads(captured.err.strip().splitlines()[-1])
    assert line["event"] == "secret.added"
    assert "whsec_MfKQ" not in captured.err
