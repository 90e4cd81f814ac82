"""Who is logged in: a server-side session per browser, and the CSRF token of its forms.

The cookie (signed by Starlette's SessionMiddleware, HttpOnly, SameSite=Strict) carries only a
random session id; the person's registry token stays in this process's memory, never in the
browser. Sessions end with the process (or at logout, or after ``TTL``).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from starlette.requests import Request

TTL_SECONDS = 8 * 3600
_SID = "sid"
_CSRF = "csrf"


@dataclass
class Session:
    token: str
    actor: str
    started: float = field(default_factory=time.monotonic)


class Sessions:
    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self._ttl = ttl
        self._held: dict[str, Session] = {}
        self._lock = threading.Lock()

    def login(self, request: Request, token: str, actor: str) -> None:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._held[sid] = Session(token=token, actor=actor)
        request.session.clear()
        request.session[_SID] = sid
        request.session[_CSRF] = secrets.token_urlsafe(32)  # a new one per login

    def logout(self, request: Request) -> None:
        sid = request.session.pop(_SID, None)
        if sid is not None:
            with self._lock:
                self._held.pop(sid, None)

    def current(self, request: Request) -> Session | None:
        sid = request.session.get(_SID)
        if not isinstance(sid, str):
            return None
        with self._lock:
            found = self._held.get(sid)
            if found is not None and time.monotonic() - found.started > self._ttl:
                del self._held[sid]
                found = None
        return found


def csrf_token(request: Request) -> str:
    """The session's form token (made on first use): every form of the console carries it."""
    token = request.session.get(_CSRF)
    if not isinstance(token, str):
        token = request.session[_CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, sent: str | None) -> bool:
    expected = request.session.get(_CSRF)
    return isinstance(expected, str) and sent is not None and hmac.compare_digest(expected, sent)
