"""get_click_id on Flask's request (the context-local proxy and the Werkzeug Request behind
it), through Flask's own test client."""

from __future__ import annotations

import pytest
from flask import Flask, Response, jsonify, request
from flask.testing import FlaskClient
from traaaction_sdk import get_click_id

from tests.sdk.cases import CASES, CLICK_A, CLICK_B, VIEW_PATH, Case, headers_of, url_of

app = Flask(__name__)


@app.get(VIEW_PATH)
def click_view() -> Response:
    return jsonify(
        proxy=get_click_id(request),
        # what a helper that was handed the request object itself would see
        bare=get_click_id(request._get_current_object()),  # type: ignore[attr-defined]
    )


@pytest.fixture
def client() -> FlaskClient:
    # without cookies of its own: the client would replace the case's Cookie header with
    # the contents of its (empty) jar
    return app.test_client(use_cookies=False)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_case_through_the_flask_test_client(client: FlaskClient, case: Case) -> None:
    response = client.get(url_of(case), headers=headers_of(case))
    assert response.status_code == 200
    assert response.get_json() == {"proxy": case.expected, "bare": case.expected}


def test_the_cookie_jar_of_the_client_reaches_the_view() -> None:
    client = app.test_client()
    client.set_cookie("trac_click_id", CLICK_A)
    response = client.get(f"{VIEW_PATH}?trac_click_id={CLICK_B}")
    assert response.get_json() == {"proxy": CLICK_A, "bare": CLICK_A}


def test_the_proxy_outside_a_request_gives_none() -> None:
    # Flask raises RuntimeError("Working outside of request context") on any attribute
    assert get_click_id(request) is None
