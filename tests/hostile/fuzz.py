"""Shared strategies and budgets for the hostile-input tests.

The budgets are per property: with them the suite runs over 10,000 hypothesis examples in CI
(most against the pure parsers, where an example costs a fraction of a millisecond) and stays
within about a minute on a 2-core machine.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: hypothesis examples per property of a pure function (about 3 ms each, generation included)
PURE_EXAMPLES = 1000
#: the same, for the properties whose examples are cheap to make (about 1 ms each)
CHEAP_EXAMPLES = 2500
#: examples per property that goes through the ingress app (a request each, Redis included)
HTTP_EXAMPLES = 250
#: examples per property that goes through the workers' pipeline (a PostgreSQL transaction each)
PIPELINE_EXAMPLES = 300


def fuzz(examples: int) -> settings:
    """Hypothesis settings for `examples` examples, without deadlines (the machine is shared)."""
    return settings(
        max_examples=examples,
        deadline=None,
        # Large, slow-to-make inputs are the point here, not a mistake of the strategy.
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


#: strings a hostile sender would try: control characters, NUL, bidi overrides, zero-width
#: characters, line separators, lone surrogates (json.dumps escapes them), astral characters
nasty_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp"]), max_size=8),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "evt_\x00",
            "\u202e\u200b",
            "\u2028\u2029",
            "\ud800",
            "\udfff",
            "\U0001f600",
            "é" * 300,
            "x" * 5000,
            "1",
            "100",
            "-1",
            "0x10",
            "1e3",
            "NaN",
            "null",
            "true",
            "usd",
            "USD",
            "event",
            "v2.core.event",
        ]
    ),
)

#: numbers of every awkward kind: bool (an int in Python), 64-bit edges, beyond 64 bits,
#: floats (integral or not), negative zero
nasty_numbers = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**63 + 2),
    st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2),
    st.integers(min_value=2**64 - 2, max_value=2**64 + 2),
    st.sampled_from([10**30, -(10**30), 10**400, 32_503_680_000, 32_503_680_001, 253402300800]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, 1.5, 1e300, 100.0]),
)

nasty_scalars = st.one_of(st.none(), nasty_numbers, nasty_text)

nasty_json = st.recursive(
    nasty_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(nasty_text, children, max_size=4),
    ),
    max_leaves=10,
)


def dumps(value: Any) -> bytes:
    """As JSON on the wire: lone surrogates and control characters escaped, as JSON allows."""
    return json.dumps(value, allow_nan=False).encode()
