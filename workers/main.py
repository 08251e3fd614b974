"""The module Dramatiq's worker processes import: configures logging and the broker, then actors.

`traaaction worker` runs `dramatiq workers.main` with the environment it resolved (the URLs of
the embedded servers, when those are in use).
"""

from __future__ import annotations

from traaaction.logs import configure_logging
from traaaction.settings import load_settings
from workers.broker import install_broker

_settings = load_settings()
configure_logging(_settings.log_level, _settings.log_format)
if _settings.redis_url is None:
    raise SystemExit("REDIS_URL: required by worker processes (`traaaction worker` sets it)")
broker = install_broker(_settings.redis_url)
