"""Stripe-Signature parsing and verification, including the traps of stripe-python."""

from __future__ import annotations

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from ingress.signature import (
    SignatureError,
    SignatureFailure,
    compute_signature,
    parse_header,
    sign,
    verify,
)

SECRET = "whsec_test_secret"
NOW = 1_700_000_000
BODY = b'{"id":"evt_1","object":"event"}'


def failure_of(
    header: str | None, secrets: list[str], *, body: bytes = BODY, now: float = NOW
) -> SignatureFailure:
    with pytest.raises(SignatureError) as raised:
        verify(header, body, secrets, now=now)
    return raised.value.failure


def test_stripe_pythons_fixed_vector_verifies() -> None:
    payload = (
        b'{\n  "id": "evt_test_webhook",\n  "object": "event",\n'
        b'  "data": { "object": { "id": "rdr_123", "object": "terminal.reader" } }\n}'
    )
    expected = "d21d91b425674689e03346536b8fec6384a8721d43ebe269a1689a3ad22cba9c"
    assert compute_signature(SECRET, 1492774577, payload) == expected
    header = f"t=1492774577,v1={expected}"
    assert verify(header, payload, [SECRET], now=1492774577) == 1492774577


def test_a_header_made_by_the_stripe_package_verifies() -> None:
    timestamp = NOW
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{BODY.decode()}", SECRET)
    header = f"t={timestamp},{stripe.WebhookSignature.EXPECTED_SCHEME}={signature}"
    assert verify(header, BODY, [SECRET], now=NOW) == timestamp


def test_our_signature_passes_the_stripe_packages_own_check() -> None:
    import time

    now = int(time.time())
    header = sign(SECRET, BODY, now)
    assert stripe.WebhookSignature.verify_header(BODY.decode(), header, SECRET, tolerance=300)


def test_a_valid_signature_next_to_a_bad_v1_verifies() -> None:
    good = compute_signature(SECRET, NOW, BODY)
    assert verify(f"t={NOW},v1={'0' * 64},v1={good}", BODY, [SECRET], now=NOW) == NOW


def test_only_v0_is_not_enough() -> None:
    good = compute_signature(SECRET, NOW, BODY)
    assert failure_of(f"t={NOW},v0={good}", [SECRET]) is SignatureFailure.NO_V1


def test_upper_case_hex_does_not_match() -> None:
    good = compute_signature(SECRET, NOW, BODY).upper()
    assert failure_of(f"t={NOW},v1={good}", [SECRET]) is SignatureFailure.NO_MATCH


def test_a_space_after_the_comma_leaves_no_v1() -> None:
    good = compute_signature(SECRET, NOW, BODY)
    assert failure_of(f"t={NOW}, v1={good}", [SECRET]) is SignatureFailure.NO_V1


@pytest.mark.parametrize("skew", [-301, 301, -86_400, 10**9])
def test_timestamps_outside_the_tolerance_either_way_are_refused(skew: int) -> None:
    header = sign(SECRET, BODY, NOW + skew)
    assert failure_of(header, [SECRET]) is SignatureFailure.TIMESTAMP_OUT_OF_TOLERANCE


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_timestamps_at_the_edge_of_the_tolerance_verify(skew: int) -> None:
    assert verify(sign(SECRET, BODY, NOW + skew), BODY, [SECRET], now=NOW) == NOW + skew


def test_an_empty_secret_never_matches_even_its_own_signature() -> None:
    header = sign("", BODY, NOW)
    assert failure_of(header, [""]) is SignatureFailure.NO_ACTIVE_SECRET


def test_either_of_two_active_secrets_verifies() -> None:
    old, new = "whsec_old_1234", "whsec_new_5678"
    assert verify(sign(old, BODY, NOW), BODY, [old, new], now=NOW) == NOW
    assert verify(sign(new, BODY, NOW), BODY, [old, new], now=NOW) == NOW


def test_a_changed_body_does_not_verify() -> None:
    header = sign(SECRET, BODY, NOW)
    assert failure_of(header, [SECRET], body=BODY + b" ") is SignatureFailure.NO_MATCH


@pytest.mark.parametrize(
    ("header", "failure"),
    [
        (None, SignatureFailure.MISSING_HEADER),
        ("", SignatureFailure.MISSING_HEADER),
        ("garbage", SignatureFailure.MALFORMED_HEADER),
        ("v1=abc", SignatureFailure.MALFORMED_HEADER),
        ("t=abc,v1=abc", SignatureFailure.MALFORMED_HEADER),
        ("t=-5,v1=abc", SignatureFailure.MALFORMED_HEADER),
        ("t=1,t=2,v1=abc", SignatureFailure.MALFORMED_HEADER),
        ("t=١٢٣,v1=abc", SignatureFailure.MALFORMED_HEADER),
        ("t=1" + ",v1=a" * 17, SignatureFailure.MALFORMED_HEADER),
        ("t=" + "9" * 13 + ",v1=abc", SignatureFailure.MALFORMED_HEADER),
        ("t=1," + "x" * 5000, SignatureFailure.MALFORMED_HEADER),
        (f"t={NOW}", SignatureFailure.NO_V1),
    ],
)
def test_garbled_headers_are_refused_with_their_reason(
    header: str | None, failure: SignatureFailure
) -> None:
    assert failure_of(header, [SECRET]) is failure


@given(st.text(max_size=300))
def test_any_header_text_parses_or_raises_signature_error(header: str) -> None:
    try:
        parsed = parse_header(header)
    except SignatureError:
        return
    assert parsed.signatures
    assert parsed.timestamp >= 0


@given(body=st.binary(max_size=2000), secret=st.text(min_size=1, max_size=40))
def test_sign_and_verify_agree_for_any_body_and_secret(body: bytes, secret: str) -> None:
    assert verify(sign(secret, body, NOW), body, [secret], now=NOW) == NOW
