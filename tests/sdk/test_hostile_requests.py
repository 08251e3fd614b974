"""get_click_id on whatever a merchant's code may hand it: attributes that raise, fields of
the wrong type, containers that lie. It gives a well-formed click id or None, and never
raises: a missing click must never break a checkout."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

import pytest
from hypothesis import given
from hypothesis import strategies as st
from traaaction_sdk import checkout_params, get_click_id

from tests.sdk.cases import CLICK_A

WELL_FORMED = re.compile(r"clk_[a-z2-7]{26}")
COOKIE = f"trac_click_id={CLICK_A}"


class Boom(Exception):
    pass


def _boom(*_: object, **__: object) -> NoReturn:
    raise Boom


class RaisingAttributes:
    """Every attribute lookup raises (a lazy proxy whose target is gone)."""

    def __getattr__(self, name: str) -> NoReturn:
        raise Boom(name)


class RaisingScopeProperty:
    @property
    def scope(self) -> NoReturn:
        raise Boom


class RaisingMapping(Mapping[str, object]):
    """A mapping that looks like a request and raises on every read."""

    def __getitem__(self, key: str) -> NoReturn:
        raise Boom

    def __iter__(self) -> Iterator[str]:
        raise Boom

    def __len__(self) -> int:
        return 1

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: str, default: object = None) -> NoReturn:
        raise Boom


class HostileStr(str):
    """Text whose methods lie or raise; the SDK must read its characters, nothing else."""

    __slots__ = ()
    split = partition = strip = _boom
    __eq__ = __iter__ = _boom
    __hash__ = str.__hash__


def _raising_headers() -> Iterator[tuple[bytes, bytes]]:
    yield (b"cookie", COOKIE.encode())
    raise Boom


def _scope(**fields: object) -> dict[str, object]:
    return {"type": "http", "headers": [], "query_string": b""} | fields


class _Holder:
    def __init__(self, **attributes: object) -> None:
        self.__dict__.update(attributes)


HOSTILE: list[tuple[str, object]] = [
    ("None", None),
    ("an int", 1),
    ("text", COOKIE),
    ("bytes", COOKIE.encode()),
    ("a list", [("cookie", COOKIE)]),
    ("a mapping that is no request", {"cookie": COOKIE, "query_string": COOKIE}),
    ("attributes that raise", RaisingAttributes()),
    ("a scope property that raises", RaisingScopeProperty()),
    ("a mapping that raises", RaisingMapping()),
    ("a scope attribute that raises", _Holder(scope=RaisingMapping())),
    ("headers that are not a list", _scope(headers=42)),
    ("headers as text", _scope(headers=COOKIE)),
    ("headers that are not pairs", _scope(headers=[b"cookie", (b"cookie",), 7, None])),
    ("header pairs of three", _scope(headers=[(b"cookie", COOKIE.encode(), b"x")])),
    ("header values that are not text", _scope(headers=[(b"cookie", 12), (None, None)])),
    ("headers that raise midway", _scope(headers=_raising_headers())),
    ("a query string that is an int", _scope(query_string=7)),
    ("an environ cookie that is an int", {"REQUEST_METHOD": "GET", "HTTP_COOKIE": 5}),
    ("an environ query that is a list", {"REQUEST_METHOD": "GET", "QUERY_STRING": [COOKIE]}),
    ("META that is not a mapping", _Holder(META="REQUEST_METHOD")),
    ("environ that is None", _Holder(environ=None)),
    ("a hostile str cookie", {"REQUEST_METHOD": "GET", "HTTP_COOKIE": HostileStr("x")}),
]


@pytest.mark.parametrize(("name", "request_object"), HOSTILE, ids=[name for name, _ in HOSTILE])
def test_a_hostile_request_gives_none(name: str, request_object: object) -> None:
    assert get_click_id(request_object) is None


def test_a_hostile_str_is_read_for_its_characters_only() -> None:
    """A str subclass whose methods raise still holds the click: the SDK reads the text as
    plain str, and what it returns is a plain str."""
    found = get_click_id({"REQUEST_METHOD": "GET", "HTTP_COOKIE": HostileStr(COOKIE)})
    assert found == CLICK_A
    assert type(found) is str


def test_a_hostile_request_makes_checkout_params_with_no_click() -> None:
    assert checkout_params(RaisingAttributes()) == {}
    assert checkout_params(RaisingMapping(), metadata={"order": "42"}) == {
        "metadata": {"order": "42"}
    }


scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=40) | st.binary(max_size=40)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=12) | st.sampled_from(["type", "headers"]), inner)
    ),
    max_leaves=20,
)
fields = st.sampled_from(
    ["type", "headers", "query_string", "REQUEST_METHOD", "HTTP_COOKIE", "QUERY_STRING"]
)
requestish = st.dictionaries(fields, values | st.sampled_from(["http", "websocket", "GET"]))


@given(request_object=requestish | values | st.builds(_Holder, scope=requestish))
def test_any_structure_gives_a_click_id_or_none(request_object: object) -> None:
    found = get_click_id(request_object)
    assert found is None or WELL_FORMED.fullmatch(found)
