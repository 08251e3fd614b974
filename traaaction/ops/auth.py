"""The console's credentials: the operator token, sessions, CSRF tokens, cross-site checks.

- The token is only ever compared (constant time, on SHA-256 digests so that not even its
  length shows); it is read from a form body or an `Authorization: Bearer` header, never from
  a URL, and never written to a page, a log line or Redis.
- A sign-in starts a server-side session: the cookie carries 256 random bits, Redis keeps the
  session under the SHA-256 of that value (a copy of Redis yields no usable cookie), with its
  CSRF token, its absolute expiry and its last use. Signing out deletes it, so a replayed
  cookie is refused; so is one past its lifetime or idle timeout, or one issued under another
  OPS_TOKEN (each session records an HMAC of the token it was opened with).
- Every POST made with a session carries that session's CSRF token; every POST, whatever its
  credentials, is refused when the browser says it comes from another site (Sec-Fetch-Site,
  Origin, Referer).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import orjson
import redis

from workers.contract import NAMESPACE

SESSION_PREFIX = f"{NAMESPACE}:ops:session:"
#: characters of a cookie value token_urlsafe(32) makes
_COOKIE_LENGTH = 43
_COOKIE_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


class TokenCheck:
    """Compares candidates with the operator token in constant time."""

    def __init__(self, token: str) -> None:
        self._digest = _digest(token)
        #: what sessions record of the token they were opened with (an HMAC keyed by it)
        self.binding = hmac.new(token.encode(), b"traaaction-ops-session-v1", "sha256").hexdigest()

    def matches(self, candidate: str) -> bool:
        return hmac.compare_digest(_digest(candidate), self._digest)


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())


@dataclass(frozen=True, slots=True)
class Session:
    key: str
    csrf: str
    created: float
    expires: float


class SessionStore:
    """Sessions in Redis. Blocking calls: run them in a worker thread."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        binding: str,
        lifetime: float,
        idle: float,
        clock: Callable[[], float],
    ) -> None:
        self._client = client
        self._binding = binding
        self._lifetime = lifetime
        self._idle = idle
        self._clock = clock

    @staticmethod
    def _key(cookie: str) -> str:
        return SESSION_PREFIX + hashlib.sha256(cookie.encode()).hexdigest()

    def create(self) -> tuple[str, Session]:
        """A new session; returns the cookie value and the session."""
        cookie = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(self._key(cookie), secrets.token_urlsafe(32), now, now + self._lifetime)
        pipe = self._client.pipeline()
        pipe.hset(
            session.key,
            mapping={
                "csrf": session.csrf,
                "created": repr(now),
                "expires": repr(session.expires),
                "seen": repr(now),
                "binding": self._binding,
            },
        )
        pipe.expire(session.key, math.ceil(self._lifetime))
        pipe.execute()
        return cookie, session

    def load(self, cookie: str) -> Session | None:
        """The live session of this cookie value, its last use moved to now; else None."""
        if len(cookie) != _COOKIE_LENGTH or not set(cookie) <= _COOKIE_ALPHABET:
            return None
        key = self._key(cookie)
        raw = cast(Mapping[bytes, bytes], self._client.hgetall(key))
        if not raw:
            return None
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        now = self._clock()
        try:
            expires, seen = float(fields["expires"]), float(fields["seen"])
            valid = (
                same_secret(fields["binding"], self._binding)
                and now < expires
                and now - seen < self._idle
            )
            session = Session(key, fields["csrf"], float(fields["created"]), expires)
        except (KeyError, ValueError):
            valid = False
        if not valid:
            self._client.delete(key)
            return None
        self._client.hset(key, "seen", repr(now))
        return session

    def delete(self, cookie: str) -> None:
        self._client.delete(self._key(cookie))

    def set_flash(self, session: Session, flash: Mapping[str, Any]) -> None:
        """A message for the next page this session sees (an action's outcome)."""
        self._client.hset(session.key, "flash", orjson.dumps(flash))

    def pop_flash(self, session: Session) -> dict[str, Any] | None:
        pipe = self._client.pipeline()
        pipe.hget(session.key, "flash")
        pipe.hdel(session.key, "flash")
        raw, _ = pipe.execute()
        if raw is None:
            return None
        loaded: dict[str, Any] = orjson.loads(raw)
        return loaded


class FailureLimiter:
    """Failed sign-ins per client: a burst of `burst`, then one per `refill` seconds.

    In this process only (a token bucket per client address, the least recently failing
    forgotten beyond `max_clients`): a brake on guessing, not a defence against a botnet,
    which a token of 32+ random characters is.
    """

    def __init__(
        self,
        *,
        burst: int,
        refill: float,
        clock: Callable[[], float],
        max_clients: int = 10_000,
    ) -> None:
        self._burst = float(burst)
        self._refill = refill
        self._clock = clock
        self._max = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _tokens(self, client: str, now: float) -> float:
        found = self._buckets.get(client)
        if found is None:
            return self._burst
        tokens, at = found
        return min(self._burst, tokens + max(0.0, now - at) / self._refill)

    def retry_after(self, client: str) -> float:
        """0 when this client may try now; else the seconds until it may."""
        tokens = self._tokens(client, self._clock())
        return 0.0 if tokens >= 1 else (1 - tokens) * self._refill

    def failed(self, client: str) -> None:
        now = self._clock()
        self._buckets[client] = (self._tokens(client, now) - 1, now)
        self._buckets.move_to_end(client)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _same_origin(url: str, host: str) -> bool:
    """Whether an Origin or Referer names the host the request was sent to.

    A Host without a port stands for the default port of the URL's scheme: behind a proxy
    that terminates TLS, the request reaches us over http while the page's origin is https.
    """
    try:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            return False  # "null", another scheme, junk
        sent_to = urlsplit(f"//{host}")
        default = _DEFAULT_PORTS[parts.scheme]
        return (parts.hostname, parts.port or default) == (
            sent_to.hostname,
            sent_to.port or default,
        )
    except ValueError:
        return False


def cross_site(headers: Mapping[str, str]) -> bool:
    """Whether the browser says this request comes from another site than the console's.

    Fetch metadata first (every current browser sends it); then Origin, else Referer,
    compared with the Host the request was sent to. With none of them (a script, an old
    browser with referrers off) the CSRF token alone decides.
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site not in {"same-origin", "none"}:
        return True
    host = headers.get("host", "")
    origin = headers.get("origin")
    if origin is not None:
        return not _same_origin(origin, host)
    referer = headers.get("referer")
    if referer:
        return not _same_origin(referer, host)
    return False
