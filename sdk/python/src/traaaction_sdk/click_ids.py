"""What a click id looks like, and where one is found in a Cookie header or a query string.

Everything here takes text and gives a well-formed click id or None: no input makes it raise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import parse_qsl

#: the first-party cookie that Traaaction's trac.js writes on the merchant's pages
COOKIE_NAME = "trac_click_id"
#: the query parameter that Traaaction's /r/{key} redirect adds to the partner's destination
QUERY_PARAMETER = "trac_click_id"

#: a click id as the service makes it: "clk_" and 26 lower-case base32 characters
_CLICK_ID = re.compile(r"clk_[a-z2-7]{26}")


def is_click_id(value: object) -> bool:
    """True for a string that is a well-formed click id, and for nothing else."""
    return isinstance(value, str) and _CLICK_ID.fullmatch(value) is not None


def first_click_id(values: Iterable[object]) -> str | None:
    """The first of `values` that is a well-formed click id once stripped of blanks."""
    for value in values:
        if isinstance(value, str) and is_click_id(candidate := value.strip()):
            return candidate
    return None


def _cookie_values(header: str, name: str) -> Iterator[str]:
    # Not http.cookies.SimpleCookie: one cookie it cannot parse (a JSON value another script
    # wrote, a stray quote) makes it drop every cookie of the header, and it takes names such
    # as "expires" or "path" for attributes of the cookie before them. Browsers send
    # "name=value" pairs separated by ";", which is all that is read here.
    for pair in header.split(";"):
        key, equals, value = pair.partition("=")
        if not equals or key.strip() != name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        yield value


def click_id_from_cookie_header(header: str) -> str | None:
    """The click id in a Cookie header: the first well-formed `trac_click_id` value (browsers
    put the cookie of the most specific path first)."""
    return first_click_id(_cookie_values(header, COOKIE_NAME))


def click_id_from_query_string(query: str) -> str | None:
    """The click id in a URL's query string (without the "?"): the first well-formed
    `trac_click_id` value."""
    pairs = parse_qsl(query, keep_blank_values=False, errors="replace")
    return first_click_id(value for key, value in pairs if key == QUERY_PARAMETER)
