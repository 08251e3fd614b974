"""What a Stripe webhook signing secret may look like, checked before it is ever stored."""

from __future__ import annotations

import re

from domain.errors import DomainError

SIGNING_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
#: characters; Stripe's secrets are ~38; anything far longer is a paste error
MAX_SECRET_LENGTH = 200
_BODY = re.compile(r"^[A-Za-z0-9+/=_-]+$")


def validate_signing_secret(secret: str) -> str:
    """Return the secret stripped of surrounding whitespace, or raise DomainError.

    Error messages never contain the secret itself.
    """
    value = secret.strip()
    if not value:
        raise DomainError("the signing secret is empty")
    if not value.startswith(SIGNING_SECRET_PREFIX):
        raise DomainError("a Stripe signing secret starts with whsec_")
    body = value[len(SIGNING_SECRET_PREFIX) :]
    if not body:
        raise DomainError("the signing secret has nothing after whsec_")
    if len(value) > MAX_SECRET_LENGTH:
        raise DomainError(f"the signing secret is longer than {MAX_SECRET_LENGTH} characters")
    if not _BODY.match(body):
        raise DomainError("the signing secret contains spaces or characters Stripe never uses")
    return value


def last4(secret: str) -> str:
    """The most of a secret that any output may show."""
    return secret[-4:]


#: restricted (rk_) or secret (sk_) keys, live or test; restricted keys are recommended
_API_KEY = re.compile(r"^(rk|sk)_(live|test)_[A-Za-z0-9]{8,200}$")


def validate_api_key(key: str) -> str:
    """A Stripe API key (rk_live_..., rk_test_...; sk_ accepted), stripped; never echoed."""
    value = key.strip()
    if not value:
        raise DomainError("the Stripe API key is empty")
    if not _API_KEY.match(value):
        raise DomainError(
            "a Stripe API key looks like rk_live_... or rk_test_... (restricted keys are best)"
        )
    return value
