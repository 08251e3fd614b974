"""The Node SDK (sdk/js) from the project's own test run: its table of requests is the Python
SDK's, its tests pass under Node's runner, npm would publish its entry point and types, and
on generated headers, query strings and checkout options it answers what the Python SDK does.

Without Node the tests are skipped, except under CI (the CI variable set), where a missing
Node would otherwise hide the SDK's tests: there they fail."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traaaction_sdk import ClickIdConflict, checkout_params, get_click_id
from traaaction_sdk.click_ids import click_id_from_cookie_header, click_id_from_query_string

from tests.sdk.cases import CASES, CLICK_A, CLICK_B

SDK_JS = Path(__file__).resolve().parents[2] / "sdk" / "js"
TIMEOUT = 120


def _tool(name: str) -> str:
    """The tool's path; a skip without it, or a failure under CI for Node itself."""
    path = shutil.which(name)
    if path is None:
        if name == "node" and os.environ.get("CI"):
            pytest.fail("node is not installed, and CI must run the Node SDK's tests")
        pytest.skip(f"{name} is not installed")
    return path


def _run_node(script: str, payload: object) -> Any:
    """Runs an ES module `script` that reads JSON on stdin and writes JSON on stdout; the
    SDK's source directory is its first argument, as a file URL."""
    completed = subprocess.run(
        [_tool("node"), "--input-type=module", "-e", script, (SDK_JS / "src").as_uri() + "/"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_the_js_table_is_the_python_one() -> None:
    shared = json.loads((SDK_JS / "test" / "cases.json").read_text(encoding="utf-8"))
    assert shared == [dataclasses.asdict(case) for case in CASES]


def test_the_node_tests_pass() -> None:
    node = _tool("node")
    completed = subprocess.run(
        # tap: the reporter whose summary reads "# pass N" whatever Node's default is
        [node, "--test", "--test-reporter=tap"],
        cwd=SDK_JS,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    passed = re.search(r"^# pass (\d+)$", completed.stdout, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", completed.stdout, re.MULTILINE)
    assert passed is not None, output[-4000:]
    assert failed is not None
    assert failed.group(1) == "0"
    # every shared case through each of the three kinds of request, at the least
    assert int(passed.group(1)) >= 3 * len(CASES)


def test_npm_would_publish_the_entry_point_and_its_types(tmp_path: Path) -> None:
    npm = _tool("npm")
    offline = {
        # no registry is needed to pack: offline, and a registry that cannot answer anyway
        "npm_config_offline": "true",
        "npm_config_registry": "http://127.0.0.1:9/",
        "npm_config_update_notifier": "false",
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_cache": str(tmp_path / "npm-cache"),
    }
    completed = subprocess.run(
        [npm, "pack", "--dry-run", "--json"],
        cwd=SDK_JS,
        env={**os.environ, **offline},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    (package,) = json.loads(completed.stdout)
    assert (package["name"], package["version"]) == ("@traaaction/sdk", "0.1.0")
    files = {entry["path"] for entry in package["files"]}
    assert {"src/index.js", "src/index.d.ts", "package.json", "README.md"} <= files
    assert not any(path.startswith("test/") for path in files)


# -- both SDKs on the same generated input -------------------------------------------------

#: pieces of Cookie headers and query strings where the two languages' own functions differ:
#: blanks that only one of String.trim and str.strip removes, escapes of them, broken escapes,
#: separators of the other format, quotes, a byte-order mark
_PIECES = (
    "trac_click_id", "trac_click_id=", "TRAC_CLICK_ID=", "trac%5Fclick_id=", "=", ";", "; ", "&",
    "?", "#", " ", "\t", "\n", "\x0b", "\x1c", "\x1f", "\x85", "\xa0", "\u3000", "\ufeff", "é",
    '"', "+", "%", "%2", "%zz", "%5F", "%5f", "%20", "%C2%85", "%EF%BB%BF", "%E2%80%83", "%1F",
    "%ff", "clk_", "abcdefghijklmnopqrstuvwxyz", CLICK_A, CLICK_B, CLICK_A.upper(), "x",
)  # fmt: skip
#: what comes before and after a click, in either format (a query starting with "?")
_SEPARATORS = (("; ", "; "), (";", ";"), ("&", "&"), ("&a=1&", "&"), ("?", "&"), ("?", ";"))
_BLANKS = ("", " ", "\t", "\x1f", "\x85", "\ufeff", "\u2003", "+", "%20", "%C2%85", '"')


def _generated_texts(count: int) -> Iterator[str]:
    """Random runs of pieces, half of them around a `trac_click_id=` and a click id between
    blanks, so that a good share of them name a click in one format or the other."""
    rng = random.Random(15)  # noqa: S311 - a fixed seed: the same texts on every run
    for index in range(count):
        noise = [rng.choice(_PIECES) for _ in range(rng.randrange(0, 10))]
        if index % 2:
            blank = rng.choice(_BLANKS)
            cut = rng.randrange(0, len(noise) + 1)
            click = rng.choice((CLICK_A, CLICK_B))
            before, after = rng.choice(_SEPARATORS)
            noise[cut:cut] = [before, "trac_click_id=", blank, click, blank, after]
        yield "".join(noise)


_TEXT_SCRIPT = """
const [source] = process.argv.slice(1);
const { clickIdFromCookieHeader, clickIdFromQueryString } = await import(source + "click-ids.js");
const { getClickId } = await import(source + "index.js");
let input = "";
for await (const chunk of process.stdin) input += chunk;
const answers = JSON.parse(input).map((text) => [
  clickIdFromCookieHeader(text),
  clickIdFromQueryString(text),
  getClickId({ headers: { cookie: text }, url: "/pricing" }),
  text.includes("#") ? null : getClickId({ headers: {}, url: "/pricing?" + text }),
]);
process.stdout.write(JSON.stringify(answers));
"""


def test_both_sdks_find_the_same_click_in_generated_text() -> None:
    texts = list(_generated_texts(3000))
    answers = _run_node(_TEXT_SCRIPT, texts)
    found = 0
    for text, (js_cookie, js_query, js_cookie_request, js_query_request) in zip(
        texts, answers, strict=True
    ):
        cookie = click_id_from_cookie_header(text)
        query = click_id_from_query_string(text)
        # WSGI environs: the request-level readers, from the raw parts as the JS ones
        cookie_request = get_click_id({"REQUEST_METHOD": "GET", "HTTP_COOKIE": text})
        query_request = get_click_id({"REQUEST_METHOD": "GET", "QUERY_STRING": text})
        assert (js_cookie, js_query) == (cookie, query), repr(text)
        assert js_cookie_request == cookie_request, repr(text)
        if "#" not in text:  # in a URL it would start the fragment
            assert js_query_request == query_request, repr(text)
        found += (cookie is not None) + (query is not None)
    # the comparison is worth something only if many of the texts name a click
    assert found > len(texts) // 5


_CHECKOUT_SCRIPT = """
const [source] = process.argv.slice(1);
const { checkoutParams, ClickIdConflict } = await import(source + "index.js");
let input = "";
for await (const chunk of process.stdin) input += chunk;
const answers = JSON.parse(input).map(({ cookie, options }) => {
  try {
    return { ok: checkoutParams({ headers: { cookie }, url: "/checkout" }, options) };
  } catch (error) {
    if (error instanceof ClickIdConflict) return { error: "conflict" };
    if (error instanceof TypeError) return { error: "invalid" };
    throw error;
  }
});
process.stdout.write(JSON.stringify(answers));
"""

_ABSENT = object()
_MODES: tuple[object, ...] = (_ABSENT, "payment", "subscription", "setup", "bogus")
_METADATA: tuple[object, ...] = (
    _ABSENT, None, {}, {"order": "1"}, {"tracClickId": CLICK_A}, {"tracClickId": CLICK_B},
    {"tracClickId": None}, {"tracClickId": ""},
)  # fmt: skip
_SUBSCRIPTION_DATA: tuple[object, ...] = (
    _ABSENT, {}, {"trial_period_days": 7}, {"metadata": None}, {"metadata": {}},
    {"metadata": {"plan": "pro"}},
    {"metadata": {"tracClickId": CLICK_B}}, {"metadata": {"tracClickId": CLICK_A, "a": "b"}},
)  # fmt: skip
_CLIENT_REFERENCE_IDS: tuple[object, ...] = (_ABSENT, None, "", "user_7")


#: the JS options' names, as the Python keywords
_KEYWORDS = {"subscriptionData": "subscription_data", "clientReferenceId": "client_reference_id"}


def _python_answer(cookie: str, options: dict[str, object]) -> dict[str, Any]:
    # Any: the scenarios pass wrong values on purpose (a "bogus" mode) to compare the refusals
    keywords: dict[str, Any] = {_KEYWORDS.get(name, name): value for name, value in options.items()}
    environ = {"REQUEST_METHOD": "POST", "HTTP_COOKIE": cookie}
    try:
        return {"ok": checkout_params(environ, **keywords)}
    except ClickIdConflict:
        return {"error": "conflict"}
    except ValueError:
        return {"error": "invalid"}


def test_both_sdks_make_the_same_checkout_params() -> None:
    scenarios: list[tuple[str, dict[str, object]]] = []
    for cookie in ("", f"trac_click_id={CLICK_A}"):
        for mode in _MODES:
            for metadata in _METADATA:
                for data in _SUBSCRIPTION_DATA:
                    for reference in _CLIENT_REFERENCE_IDS:
                        given = {
                            "mode": mode,
                            "metadata": metadata,
                            "subscriptionData": data,
                            "clientReferenceId": reference,
                        }
                        options = {k: v for k, v in given.items() if v is not _ABSENT}
                        scenarios.append((cookie, options))
    payload = [{"cookie": cookie, "options": options} for cookie, options in scenarios]
    answers = _run_node(_CHECKOUT_SCRIPT, payload)
    outcomes = set()
    for (cookie, options), answer in zip(scenarios, answers, strict=True):
        expected = _python_answer(cookie, options)
        assert answer == expected, (cookie, options)
        outcomes.add(next(iter(expected.values())) if "error" in expected else "ok")
    assert outcomes == {"ok", "conflict", "invalid"}
