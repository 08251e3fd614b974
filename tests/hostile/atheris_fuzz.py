"""Coverage-guided fuzzing of the three parsers with atheris (libFuzzer), outside CI.

Not collected by pytest (CI needs no atheris): the hypothesis properties in test_parsers.py are
the CI's fuzzing. This finds what random generation might not, by following coverage. Run it
from the project's root, in a virtualenv with atheris and orjson:

    python -m venv /tmp/fz && /tmp/fz/bin/pip install atheris orjson
    PYTHONPATH=. /tmp/fz/bin/python tests/hostile/atheris_fuzz.py -max_total_time=60

Each input goes to the Stripe-Signature parser and verifier, the ingress' envelope parser and
the workers' event parser: each must return or raise its one documented error, and where the
envelope and the event parser both accept a body they must agree on its id, created and mode.
"""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

with atheris.instrument_imports():
    from domain.events import EventParseError, parse_event
    from ingress.envelope import EnvelopeError, parse_envelope
    from ingress.signature import SignatureError, parse_header, verify

_SECRET = "whsec_atheris_fuzz_secret"
_NOW = 1_700_000_000


def test_one_input(data: bytes) -> None:
    header = data.decode("latin-1")
    try:
        parse_header(header)
        verify(header, data, [_SECRET, ""], now=_NOW)
    except SignatureError:
        pass
    try:
        envelope = parse_envelope(data)
    except EnvelopeError:
        envelope = None
    try:
        event = parse_event(data)
    except EventParseError:
        return
    if envelope is not None:
        agreed = (envelope.id, envelope.created, envelope.livemode)
        assert agreed == (event.event_id, event.created, event.livemode), (agreed, event)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
