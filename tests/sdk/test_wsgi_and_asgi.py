"""get_click_id on the servers' own views of a request, with no framework: a WSGI environ
(PEP 3333, as wsgiref lays it out) and an ASGI scope (as uvicorn lays it out)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest
from traaaction_sdk import get_click_id
from werkzeug.test import Client

from tests.sdk.cases import CASES, CLICK_A, CLICK_B, VIEW_PATH, Case, headers_of, url_of


def _environ(case: Case) -> dict[str, Any]:
    environ: dict[str, Any] = {"PATH_INFO": VIEW_PATH, "QUERY_STRING": case.query}
    if case.cookie is not None:
        environ["HTTP_COOKIE"] = case.cookie
    setup_testing_defaults(environ)
    return environ


def _scope(case: Case) -> dict[str, Any]:
    headers = [(b"host", b"shop.example")]
    if case.cookie is not None:
        headers.append((b"cookie", case.cookie.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": VIEW_PATH,
        "raw_path": VIEW_PATH.encode(),
        "query_string": case.query.encode("latin-1"),
        "headers": headers,
    }


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_case_on_a_wsgi_environ(case: Case) -> None:
    assert get_click_id(_environ(case)) == case.expected


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_case_on_an_asgi_scope(case: Case) -> None:
    assert get_click_id(_scope(case)) == case.expected


def _bare_wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(get_click_id(environ) or "").encode()]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_case_through_a_bare_wsgi_app(case: Case) -> None:
    # wsgiref's validator fails the request if the environ or the app break PEP 3333
    client = Client(validator(_bare_wsgi_app), use_cookies=False)
    # buffered: the client reads the app's iterable to its end and closes it, as servers do
    response = client.get(url_of(case), headers=headers_of(case), buffered=True)
    assert response.get_data(as_text=True) == (case.expected or "")


def test_cookies_split_over_several_headers_are_one_header() -> None:
    """HTTP/2 and HTTP/3 clients may send each cookie in its own header (RFC 9113 8.2.3)."""
    scope = _scope(CASES[0])
    scope["headers"] += [(b"cookie", b"sid=1"), (b"Cookie", f"trac_click_id={CLICK_A}".encode())]
    scope["query_string"] = f"trac_click_id={CLICK_B}".encode()
    assert get_click_id(scope) == CLICK_A


def test_a_websocket_scope_is_read_like_an_http_one() -> None:
    scope = _scope(CASES[0]) | {"type": "websocket"}
    scope["headers"] += [(b"cookie", f"trac_click_id={CLICK_A}".encode())]
    assert get_click_id(scope) == CLICK_A


def test_a_lifespan_scope_is_no_request() -> None:
    assert get_click_id({"type": "lifespan", "query_string": f"trac_click_id={CLICK_A}"}) is None


def test_a_cookie_value_in_bytes_outside_ascii_does_not_hide_the_click() -> None:
    # browsers send what the page wrote; latin-1 reads any byte, so one odd cookie is harmless
    scope = _scope(CASES[0])
    scope["headers"] += [(b"cookie", b"name=\xff\xfe\x00; trac_click_id=" + CLICK_A.encode())]
    assert get_click_id(scope) == CLICK_A
