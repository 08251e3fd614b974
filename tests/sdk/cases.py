"""The requests every adapter is run with (raw ASGI and WSGI, Starlette, Django, Flask), and
what each must find: one table, so that the frameworks cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass

#: well-formed click ids ("clk_" and 26 of a-z, 2-7)
CLICK_A = "clk_abcdefghijklmnopqrstuvwxyz"
CLICK_B = "clk_234567abcdefghijklmnopqrst"


@dataclass(frozen=True)
class Case:
    name: str
    cookie: str | None
    query: str
    expected: str | None


CASES = (
    Case("nothing", None, "", None),
    Case("the cookie", f"trac_click_id={CLICK_A}", "", CLICK_A),
    Case("the query parameter", None, f"trac_click_id={CLICK_A}", CLICK_A),
    Case(
        "the cookie before the query",
        f"trac_click_id={CLICK_A}",
        f"trac_click_id={CLICK_B}",
        CLICK_A,
    ),
    Case(
        "a malformed cookie falls back to the query",
        "trac_click_id=clk_short",
        f"trac_click_id={CLICK_B}",
        CLICK_B,
    ),
    Case("other cookies around it", f"sid=1; trac_click_id={CLICK_A}; theme=dark", "", CLICK_A),
    # http.cookies.SimpleCookie gives no cookie at all for each of these three headers
    Case("after a JSON cookie", f'prefs={{"a":1}}; trac_click_id={CLICK_A}', "", CLICK_A),
    Case(
        "after a cookie named like an attribute", f"expires=1; trac_click_id={CLICK_A}", "", CLICK_A
    ),
    Case("after an unbalanced quote", f'a="b; trac_click_id={CLICK_A}', "", CLICK_A),
    Case("a quoted value", f'trac_click_id="{CLICK_A}"', "", CLICK_A),
    Case("no spaces after the semicolons", f"a=1;trac_click_id={CLICK_A};b=2", "", CLICK_A),
    Case(
        "the first well-formed of two cookies",
        f"trac_click_id=junk; trac_click_id={CLICK_B}",
        "",
        CLICK_B,
    ),
    Case("upper case is not a click id", f"trac_click_id={CLICK_A.upper()}", "", None),
    Case("cookie names are case-sensitive", f"TRAC_CLICK_ID={CLICK_A}", "", None),
    Case("a longer value is not a click id", f"trac_click_id={CLICK_A}x", "", None),
    Case("a digit outside base32", "trac_click_id=clk_0bcdefghijklmnopqrstuvwxyz", "", None),
    Case("a name without a value", "trac_click_id; a=b", "", None),
    Case(
        "a percent-encoded query parameter",
        None,
        "trac_click_id=clk%5Fabcdefghijklmnopqrstuvwxyz",
        CLICK_A,
    ),
    Case(
        "the first well-formed of two query parameters",
        None,
        f"trac_click_id=junk&trac_click_id={CLICK_B}&page=2",
        CLICK_B,
    ),
    Case("a prefixed query parameter is another one", None, f"xtrac_click_id={CLICK_A}", None),
    Case("garbage around the query", None, f"%%&=&&trac_click_id={CLICK_A}&%zz=1", CLICK_A),
)

#: the path every test app serves its view at
VIEW_PATH = "/click"


def url_of(case: Case) -> str:
    """The case's request target: the view's path and the case's query, byte for byte."""
    return f"{VIEW_PATH}?{case.query}" if case.query else VIEW_PATH


def headers_of(case: Case) -> dict[str, str]:
    """The case's Cookie header as the browser sends it (no header at all for no cookie)."""
    return {} if case.cookie is None else {"Cookie": case.cookie}
