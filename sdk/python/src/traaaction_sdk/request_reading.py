"""The Cookie header and the query string of a request, whatever framework made it.

Duck-typed, never importing a framework: every request object of Starlette/FastAPI, Django
and Flask carries the server's own view of the request (an ASGI scope or a WSGI environ),
and that is what is read, so that one parser decides for all of them.

- an ASGI scope: a mapping with "type" ("http" or "websocket"), "headers" as (name, value)
  byte pairs and "query_string" as bytes;
- a WSGI environ: a mapping with "REQUEST_METHOD" or "wsgi.version", "HTTP_COOKIE" and
  "QUERY_STRING" as text;
- Starlette's and FastAPI's Request (and Django's ASGIRequest): `.scope`;
- Flask's (Werkzeug's) Request: `.environ`;
- Django's HttpRequest: `.META`, laid out as a WSGI environ under WSGI and ASGI alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_ASGI_TYPES = frozenset({"http", "websocket"})
_WSGI_MARKERS = ("REQUEST_METHOD", "wsgi.version")


@dataclass(frozen=True)
class RawRequest:
    """The two parts of a request that can name a click, as text."""

    cookie_header: str
    query_string: str


def _text(value: object) -> str:
    """Header bytes as the server received them (latin-1 maps each byte to one character);
    text as it is; anything else is nothing."""
    if isinstance(value, str):
        # a plain str even from a subclass, so that no overridden method runs further on
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    return ""


def _asgi_cookie_header(headers: object) -> str:
    # HTTP/2 and HTTP/3 clients may split the cookies over several Cookie headers
    # (RFC 9113 8.2.3); joined with "; " they are one header again.
    if not isinstance(headers, Iterable) or isinstance(headers, (str, bytes)):
        return ""
    found: list[str] = []
    for header in headers:
        if not isinstance(header, (tuple, list)) or len(header) != 2:
            continue
        name, value = header
        if _text(name).lower() == "cookie":
            found.append(_text(value))
    return "; ".join(found)


def _from_asgi(scope: Mapping[object, object]) -> RawRequest:
    return RawRequest(
        cookie_header=_asgi_cookie_header(scope.get("headers")),
        query_string=_text(scope.get("query_string")),
    )


def _from_wsgi(environ: Mapping[object, object]) -> RawRequest:
    return RawRequest(
        cookie_header=_text(environ.get("HTTP_COOKIE")),
        query_string=_text(environ.get("QUERY_STRING")),
    )


def _read(candidate: object) -> RawRequest | None:
    if not isinstance(candidate, Mapping):
        return None
    if candidate.get("type") in _ASGI_TYPES:
        return _from_asgi(candidate)
    if any(marker in candidate for marker in _WSGI_MARKERS):
        return _from_wsgi(candidate)
    return None


def raw_request(request: object) -> RawRequest | None:
    """The request's Cookie header and query string, or None for an object that is no
    request this module knows. May raise whatever a hostile object's attributes raise."""
    direct = _read(request)
    if direct is not None:
        return direct
    for attribute in ("scope", "environ", "META"):
        inner = _read(getattr(request, attribute, None))
        if inner is not None:
            return inner
    return None
