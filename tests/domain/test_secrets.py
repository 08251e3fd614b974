from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.secrets import (
    MAX_SECRET_LENGTH,
    SIGNING_SECRET_PREFIX,
    last4,
    validate_signing_secret,
)

VALID = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"


def test_a_valid_signing_secret_is_returned_stripped_of_surrounding_whitespace() -> None:
    assert validate_signing_secret(f"  \t{VALID}\n") == VALID
    assert validate_signing_secret(VALID) == VALID


def test_a_signing_secret_of_exactly_the_maximum_length_is_accepted() -> None:
    secret = SIGNING_SECRET_PREFIX + "a" * (MAX_SECRET_LENGTH - len(SIGNING_SECRET_PREFIX))
    assert validate_signing_secret(secret) == secret


@pytest.mark.parametrize(
    ("secret", "reason", "must_not_leak"),
    [
        pytest.param("", "empty", None, id="empty"),
        pytest.param(" \t\n  ", "empty", None, id="whitespace-only"),
        pytest.param(
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "starts with whsec_",
            "4eC39HqLyjWDarjtT1zdp7dc",
            id="no-prefix",
        ),
        pytest.param(
            "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZI", "starts with whsec_", "MfKQ9r8GKYqrTwjU", id="caps"
        ),
        pytest.param("whsec_", "nothing after whsec_", None, id="only-prefix"),
        pytest.param("  whsec_ \n", "nothing after whsec_", None, id="only-prefix-padded"),
        pytest.param(
            "whsec_MfKQ9r8G KYqrTwjUPD8I",
            "contains spaces",
            "MfKQ9r8G KYqrTwjUPD8I",
            id="inner-space",
        ),
        pytest.param(
            "whsec_MfKQ9r8G\nKYqrTwjUPD8I",
            "contains spaces",
            "MfKQ9r8G\nKYqrTwjUPD8I",
            id="inner-newline",
        ),
        pytest.param(
            "whsec_MfKQ9r8G!KYqrTwjUPD8I", "characters Stripe never uses", "MfKQ9r8G!", id="bang"
        ),
        pytest.param(
            SIGNING_SECRET_PREFIX + "Zq9" * 65,
            f"longer than {MAX_SECRET_LENGTH}",
            "Zq9Zq9Zq9",
            id="too-long",
        ),
    ],
)
def test_a_malformed_signing_secret_is_refused_without_repeating_it(
    secret: str, reason: str, must_not_leak: str | None
) -> None:
    with pytest.raises(DomainError, match=reason) as caught:
        validate_signing_secret(secret)
    message = str(caught.value)
    if must_not_leak is not None:
        assert secret.strip() not in message
        assert must_not_leak not in message
        assert must_not_leak not in repr(caught.value)


def test_last4_shows_only_the_last_four_characters() -> None:
    assert last4(VALID) == "LaSw"


def _refusal(secret: str) -> str:
    with pytest.raises(DomainError) as caught:
        validate_signing_secret(secret)
    return str(caught.value)


#: the validator's fixed wording, from probes of each kind of refusal; hypothesis also draws
#: short string constants of the project's modules, and a piece of this wording given as input
#: is found in the message without anything having leaked
FIXED_WORDING = tuple(
    _refusal(probe) for probe in ("", "Xq7", "whsec_", "whsec_Xq 7", "whsec_" + "Xq7" * 100)
)

secret_like = st.one_of(
    st.text(max_size=300),
    st.builds(lambda body: SIGNING_SECRET_PREFIX + body, st.text(max_size=250)),
    st.builds(
        lambda before, body, after: before + SIGNING_SECRET_PREFIX + body + after,
        st.text(alphabet=" \t\r\n", max_size=3),
        st.text(alphabet=BODY_ALPHABET, max_size=250),
        st.text(alphabet=" \t\r\n", max_size=3),
    ),
)


@settings(max_examples=200)
@given(secret=secret_like)
def test_any_text_is_either_a_stripped_whsec_secret_or_a_domain_error_that_hides_it(
    secret: str,
) -> None:
    outcome: str | DomainError
    try:
        outcome = validate_signing_secret(secret)
    except DomainError as error:  # anything else fails the test
        outcome = error
    if isinstance(outcome, DomainError):
        if len(secret) >= 8 and not any(secret in wording for wording in FIXED_WORDING):
            assert secret not in str(outcome)
            assert secret not in repr(outcome)
    else:
        assert outcome.startswith(SIGNING_SECRET_PREFIX)
        assert len(SIGNING_SECRET_PREFIX) < len(outcome) <= MAX_SECRET_LENGTH
        assert outcome == secret.strip()
        assert validate_signing_secret(outcome) == outcome


@settings(max_examples=200)
@given(
    body=st.text(
        alphabet=BODY_ALPHABET,
        min_size=1,
        max_size=MAX_SECRET_LENGTH - len(SIGNING_SECRET_PREFIX),
    ),
    padding=st.text(alphabet=" \t\r\n", max_size=3),
)
def test_every_well_formed_secret_is_accepted(body: str, padding: str) -> None:
    secret = SIGNING_SECRET_PREFIX + body
    assert validate_signing_secret(padding + secret + padding) == secret
