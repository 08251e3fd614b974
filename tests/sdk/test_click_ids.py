"""The click id's form and the two text parsers (Cookie header, query string)."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from traaaction_sdk import is_click_id
from traaaction_sdk.click_ids import click_id_from_cookie_header, click_id_from_query_string

from storage.ids import click_id as service_click_id
from storage.repositories.clicks import CLICK_ID as SERVICE_CLICK_ID
from tests.sdk.cases import CASES, CLICK_A, CLICK_B, Case

click_ids = st.from_regex(r"clk_[a-z2-7]{26}", fullmatch=True)
#: cookie names and values as another script of the page might write them
cookie_tokens = st.text(alphabet=st.characters(codec="ascii", exclude_characters=";"), max_size=20)


def test_the_cases_click_ids_are_well_formed() -> None:
    # a fixture id one character short once made three cases test the wrong thing
    for click_id in (CLICK_A, CLICK_B):
        assert SERVICE_CLICK_ID.match(click_id)
        assert is_click_id(click_id)


def test_the_service_makes_click_ids_the_sdk_accepts() -> None:
    for _ in range(200):
        assert is_click_id(service_click_id())


@given(st.text(alphabet="clk_abcdefghijklmnopqrstuvwxyz234567019ABC\n", max_size=34))
@example(CLICK_A + "\n")
@example(CLICK_A)
def test_the_sdk_and_the_service_agree_on_what_a_click_id_is(value: str) -> None:
    # the service's pattern ends in "$", which also matches before a final newline: the
    # storage layer is the one that sees such a value, so the SDK is the stricter one
    service = SERVICE_CLICK_ID.match(value) is not None and not value.endswith("\n")
    assert is_click_id(value) is service


@pytest.mark.parametrize("value", [None, 1, b"clk_abcdefghijklmnopqrstuvwxyz", ["x"], object()])
def test_only_a_string_is_a_click_id(value: object) -> None:
    assert not is_click_id(value)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_case_from_the_text_alone(case: Case) -> None:
    found = click_id_from_cookie_header(case.cookie or "") or click_id_from_query_string(case.query)
    assert found == case.expected


def test_simple_cookie_would_have_lost_the_click_on_these_headers() -> None:
    """Why the SDK splits the header itself: the standard library's cookie parser drops
    every cookie of a header once it meets one it cannot read."""
    for header in (
        f'prefs={{"a":1}}; trac_click_id={CLICK_A}',
        f"expires=1; trac_click_id={CLICK_A}",
        f'a="b; trac_click_id={CLICK_A}',
    ):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        assert "trac_click_id" not in jar
        assert click_id_from_cookie_header(header) == CLICK_A


@given(
    click_id=click_ids,
    before=st.lists(st.tuples(cookie_tokens, cookie_tokens), max_size=5),
    after=st.lists(st.tuples(cookie_tokens, cookie_tokens), max_size=5),
)
def test_the_click_is_found_among_any_other_cookies(
    click_id: str, before: list[tuple[str, str]], after: list[tuple[str, str]]
) -> None:
    # another cookie of the same name comes first only if it holds no well-formed id
    others = [(k, v) for k, v in before if k.strip() != "trac_click_id"]
    header = "; ".join(
        [
            *(f"{k}={v}" for k, v in others),
            f"trac_click_id={click_id}",
            *(f"{k}={v}" for k, v in after),
        ]
    )
    assert click_id_from_cookie_header(header) == click_id


@given(
    click_id=click_ids,
    params=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=5),
)
def test_the_click_is_found_among_any_other_query_parameters(
    click_id: str, params: list[tuple[str, str]]
) -> None:
    others = [(k, v) for k, v in params if k != "trac_click_id"]
    query = urlencode([*others, ("trac_click_id", click_id), *params])
    assert click_id_from_query_string(query) == click_id


@given(st.text())
@example("trac_click_id=" + "%" * 1000)
@example("=" * 100 + ";" * 100)
def test_any_text_gives_a_click_id_or_none(text: str) -> None:
    for found in (click_id_from_cookie_header(text), click_id_from_query_string(text)):
        assert found is None or re.fullmatch(r"clk_[a-z2-7]{26}", found)
