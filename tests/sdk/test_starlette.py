"""get_click_id on Starlette's (and so FastAPI's) Request, through Starlette's own test client:
an HTTP route, a WebSocket route, and a bare ASGI app handed the server's scope."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from traaaction_sdk import get_click_id

from tests.sdk.cases import CASES, CLICK_A, VIEW_PATH, Case, headers_of, url_of


async def click_view(request: Request) -> JSONResponse:
    return JSONResponse({"click_id": get_click_id(request)})


async def click_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"click_id": get_click_id(websocket)})
    await websocket.close()


app = Starlette(routes=[Route(VIEW_PATH, click_view), WebSocketRoute("/ws", click_socket)])


async def bare_asgi_app(scope: Scope, receive: Receive, send: Send) -> None:
    """No framework at all: the scope exactly as the server made it."""
    found = get_click_id(scope)
    body = (found or "").encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_case_through_a_starlette_route(client: TestClient, case: Case) -> None:
    response = client.get(url_of(case), headers=headers_of(case))
    assert response.status_code == 200
    assert response.json() == {"click_id": case.expected}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_case_through_a_bare_asgi_app(case: Case) -> None:
    response = TestClient(bare_asgi_app).get(url_of(case), headers=headers_of(case))
    assert response.text == (case.expected or "")


def test_the_cookie_jar_of_the_client_reaches_the_request() -> None:
    """The cookie as trac.js leaves it: in the browser's jar, not in a hand-written header."""
    with TestClient(app, cookies={"trac_click_id": CLICK_A}) as jar_client:
        assert jar_client.get(VIEW_PATH).json() == {"click_id": CLICK_A}


def test_a_websocket_handshake_carries_the_click(client: TestClient) -> None:
    with client.websocket_connect(
        f"/ws?trac_click_id={CLICK_A}", headers={"Cookie": "theme=dark"}
    ) as socket:
        assert socket.receive_json() == {"click_id": CLICK_A}
