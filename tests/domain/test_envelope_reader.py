"""domain.envelope reads a well-formed envelope inline and anything else field by field: the
two give the same answer for every input (one reader, one set of rules)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.envelope import (
    MAX_API_VERSION_LENGTH,
    MAX_EVENT_ID_LENGTH,
    EnvelopeError,
    _checked,
    _fast,
    read_envelope,
)
from domain.json_fields import MAX_TIMESTAMP, Fields

GOOD: dict[str, Any] = {
    "id": "evt_1",
    "object": "event",
    "type": "invoice.paid",
    "livemode": True,
    "api_version": "2025-03-31.basil",
    "created": 1_700_000_000,
}

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.sampled_from(["", "\x00", "e" * (MAX_EVENT_ID_LENGTH + 1), "v2.core.event", "event"]),
    st.sampled_from([0, MAX_TIMESTAMP, MAX_TIMESTAMP + 1, -1, True, "1700000000"]),
    st.sampled_from(["a" * MAX_API_VERSION_LENGTH, "a" * (MAX_API_VERSION_LENGTH + 1)]),
)


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, object]:
    """A good envelope with some fields replaced by hostile values or left out."""
    values: dict[str, object] = dict(GOOD)
    for key in draw(st.lists(st.sampled_from(sorted(GOOD)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del values[key]
        else:
            values[key] = draw(_scalars)
    return values


@given(envelopes())
def test_the_inline_check_and_the_field_by_field_one_agree(values: dict[str, object]) -> None:
    fast = _fast(values)
    try:
        checked = _checked(Fields(values, ""))
    except EnvelopeError:
        assert fast is None
        return
    assert fast == checked


def test_a_good_envelope_takes_the_inline_path() -> None:
    assert _fast(GOOD) is not None
    assert read_envelope(Fields(dict(GOOD), "")).type == "invoice.paid"


@pytest.mark.parametrize(
    ("change", "failure"),
    [
        ({"created": True}, "missing_or_invalid_created"),
        ({"created": MAX_TIMESTAMP + 1}, "missing_or_invalid_created"),
        ({"id": "evt_\x00"}, "missing_or_invalid_id"),
        ({"object": "v2.core.event"}, "thin_event"),
    ],
)
def test_anything_else_is_named_by_the_field_by_field_reader(
    change: dict[str, object], failure: str
) -> None:
    with pytest.raises(EnvelopeError) as refused:
        read_envelope(Fields({**GOOD, **change}, ""))
    assert refused.value.failure.value == failure
