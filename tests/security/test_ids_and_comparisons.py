"""Endpoint ids cannot be guessed, probes learn nothing, secrets are compared in constant time."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import itertools
import re
import time
from collections import Counter
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine
from starlette.applications import Starlette

import ingress.signature
import traaaction.ops.auth
from ingress.app import IngressOptions, create_app
from ingress.directory import ENDPOINT_ID
from ingress.signature import compute_signature, verify
from storage import ids
from storage.crypto import SecretBox
from storage.db import make_session_factory, unit_of_work
from storage.repositories import endpoints, workspaces
from tests.ingress.conftest import log_records
from tests.security.known import OPS_TOKEN, SIGNING_SECRET_A, SIGNING_SECRET_B
from traaaction import stripe_payloads as ev
from traaaction.ops.auth import TokenCheck, same_secret

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ["config", "ingress", "storage", "traaaction", "workers", "domain"]
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"

# --- endpoint ids ------------------------------------------------------------------------------


def test_endpoint_ids_carry_160_random_bits_with_no_order_or_pattern() -> None:
    made = [ids.endpoint_id() for _ in range(4096)]
    assert all(re.fullmatch(r"ep_[a-z2-7]{32}", i) for i in made)  # 32 x 5 bits = 160
    assert len(set(made)) == len(made)
    # Not sequential: consecutive ids go up about as often as down.
    ups = sum(x < y for x, y in itertools.pairwise(made))
    assert 0.45 < ups / (len(made) - 1) < 0.55
    # Every position spreads over the whole alphabet (a counter, a time or a fixed part would
    # not): chi-squared with 31 degrees of freedom, 128 expected per letter; 100 is p < 1e-8.
    # (The last letter holds 5 bits as the others: 160 bits are exactly 32 base32 letters.)
    for position in range(3, 35):
        counts = Counter(i[position] for i in made)
        assert set(counts) == set(_BASE32), position
        expected = len(made) / 32
        chi2 = sum((counts[c] - expected) ** 2 / expected for c in _BASE32)
        assert chi2 < 100, (position, chi2)


def test_ids_come_from_the_os_random_source_with_160_bits_for_endpoints() -> None:
    source = (REPO / "storage" / "ids.py").read_text()
    tree = ast.parse(source)
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert "secrets" in imported
    assert "random" not in imported
    assert "secrets.token_bytes" in source
    assert ids._ENTROPY["ep"] * 8 >= 160


def test_endpoints_made_by_the_repository_have_such_ids(engine: Engine) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        workspace = workspaces.create(session, name="Acme").id
        made = [endpoints.create(session, workspace_id=workspace).id for _ in range(20)]
    assert all(ENDPOINT_ID.match(i) for i in made)
    assert made != sorted(made)
    assert len(set(made)) == 20


# --- probing: unknown, disabled and malformed endpoints look alike ------------------------------


class _Probe:
    def __init__(self) -> None:
        self.reads = 0
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        self.reads += 1
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("198.51.100.20", 443),
        "server": ("hooks.example.test", 443),
    }


@pytest.fixture
def app(engine: Engine, redis_url: str, secret_box: SecretBox) -> Starlette:
    return create_app(
        engine=engine,
        redis_url=redis_url,
        secret_box=secret_box,
        options=IngressOptions(enqueue_timeout=1.0),
    )


def test_unknown_disabled_and_malformed_endpoints_get_the_same_answer_on_the_same_path(
    app: Starlette, engine: Engine, secret_box: SecretBox, redis_client: redis.Redis
) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        workspace = workspaces.create(session, name="Acme").id
        disabled = endpoints.create(session, workspace_id=workspace).id
        endpoints.add_secret(session, secret_box, endpoint_id=disabled, secret=SIGNING_SECRET_A)
        endpoints.set_enabled(session, disabled, False)
    body = ev.checkout_session_completed(session_id="cs_probe", click_id=None).encode()
    header = ingress.signature.sign(SIGNING_SECRET_A, body, int(time.time()))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"stripe-signature", header.encode()),
    ]
    near_miss = "a" if disabled[-1] != "a" else "b"
    paths = {
        "disabled, rightly signed": f"/api/webhooks/{disabled}",
        "unknown, well formed": f"/api/webhooks/{ids.endpoint_id()}",
        "unknown, a near miss": f"/api/webhooks/{disabled[:-1]}{near_miss}",
        "malformed": "/api/webhooks/ep_1",
    }
    answers: dict[str, tuple[Any, ...]] = {}
    reads: dict[str, int] = {}

    async def probe_all() -> None:
        async with app.router.lifespan_context(app):
            for name, path in paths.items():
                for _ in range(2):  # the first lookup goes to PostgreSQL, the second is cached
                    probe = _Probe()
                    await app(_scope(path, headers), probe.receive, probe.send)
                    start, end = probe.sent
                    answer_headers = tuple(sorted(map(tuple, start["headers"])))
                    answers[name] = (start["status"], answer_headers, end["body"])
                    reads[name] = probe.reads
            await app.state.rejections.flush()

    asyncio.run(probe_all())
    recorded = [
        (r["endpoint_id"], r["reason"], r["workspace_id"], r["count"])
        for r in log_records(redis_client, "rejected")
    ]
    assert len(set(answers.values())) == 1, answers
    status, _headers, answer = next(iter(answers.values()))
    assert (status, answer) == (404, b'{"error":"unknown_endpoint"}')
    # Not one byte of any body read: no signature computed, whatever the endpoint.
    assert set(reads.values()) == {0}
    # All four recorded alike: no endpoint, no workspace, one reason.
    assert recorded == [(None, "unknown_endpoint", None, 8)]


# --- constant-time comparisons ------------------------------------------------------------------

_SECRETISH = re.compile(
    r"secret|token|signature|digest|hmac|\bmac\b|csrf|password|binding|cookie|api_key|master"
    r"|expected|candidate",
    re.IGNORECASE,
)
#: (file, line's source) -> why it is not a secret compared
_NOT_SECRETS = {
    ("domain/json_fields.py", "value != expected"): "a payload value against a parser constant",
}


def _secretish(node: ast.expr) -> bool:
    """Whether an operand of a comparison is (named like) a secret. `len(...)` of one is not:
    lengths are public (signatures and cookies have fixed lengths)."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in {"len", "isinstance", "type"}:
            return False
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return bool(_SECRETISH.search(name))
    if isinstance(node, ast.Name):
        return bool(_SECRETISH.search(node.id)) and not node.id.isupper()
    if isinstance(node, ast.Attribute):
        return bool(_SECRETISH.search(node.attr)) and not node.attr.isupper()
    if isinstance(node, ast.Subscript):
        return _secretish(node.value)
    return False


def test_no_secret_is_compared_with_equality_or_membership_anywhere_in_the_product() -> None:
    found: list[str] = []
    for package in PRODUCT:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Compare):
                    continue
                if not any(
                    isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops
                ):
                    continue
                secret = any(_secretish(side) for side in (node.left, *node.comparators))
                if secret and (relative, ast.unparse(node)) not in _NOT_SECRETS:
                    found.append(f"{relative}:{node.lineno}: {ast.unparse(node)}")
    assert found == [], "compare secrets with hmac.compare_digest:\n" + "\n".join(found)


def test_the_scan_would_catch_an_equality_on_a_secret() -> None:
    for line in (
        "ok = expected == candidate",
        "ok = header.signature != computed",
        "ok = form['csrf'] == session.csrf",
        "ok = token in allowed_tokens",
    ):
        [statement] = ast.parse(line).body
        assert isinstance(statement, ast.Assign)
        compare = statement.value
        assert isinstance(compare, ast.Compare)
        assert any(_secretish(side) for side in (compare.left, *compare.comparators)), line


def _compare_calls(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[tuple[bytes, bytes]]:
    calls: list[tuple[bytes, bytes]] = []
    real = module.hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(module.hmac, "compare_digest", counting)
    return calls


def test_a_signature_is_compared_in_constant_time_with_every_candidate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No early exit: which secret or which v1 matched (or that none did) does not show in how
    many comparisons ran."""
    calls = _compare_calls(monkeypatch, ingress.signature)
    body, now = b'{"id":"evt_1"}', 1_700_000_000
    good = compute_signature(SIGNING_SECRET_A, now, body)
    for first in (good, "0" * 64):
        header = f"t={now},v1={first},v1={'1' * 64},v1={'2' * 64},v1=short"
        calls.clear()
        with contextlib.suppress(ingress.signature.SignatureError):
            verify(header, body, [SIGNING_SECRET_A, SIGNING_SECRET_B], now=now)
        # 2 secrets x 3 well-formed candidates, matched first or not at all
        assert len(calls) == 6
        assert all(len(a) == len(b) == 64 for a, b in calls)


def test_the_operator_token_and_form_tokens_are_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _compare_calls(monkeypatch, traaaction.ops.auth)
    check = TokenCheck(OPS_TOKEN)
    for candidate in ("", "x", OPS_TOKEN[:-1], OPS_TOKEN, OPS_TOKEN * 3, "é" * 40):
        calls.clear()
        assert check.matches(candidate) is (candidate == OPS_TOKEN)
        # One comparison of two SHA-256 digests: not even the token's length shows.
        assert [(len(a), len(b)) for a, b in calls] == [(32, 32)]
    calls.clear()
    assert same_secret("a" * 43, "b" * 43) is False
    assert same_secret("\udc80", "b" * 43) is False  # no crash on what a form may carry
    assert len(calls) == 2
