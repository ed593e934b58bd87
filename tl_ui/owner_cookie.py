"""The owner cookie, set by the server: every browser gets a secret (`tl_owner`) in an HttpOnly, SameSite=Strict
cookie before its first page loads, and every Streamlit session reads it (`st.context.cookies`, `tl_ui.state`).

`OwnerCookie` is ASGI middleware in front of Streamlit (`serve.py` mounts it through `st.App`). A request with no
valid secret (none, malformed, non-ASCII) gets a fresh one: the response sets it, and the request is passed on
carrying it, so the websocket session that opens a page already reads it. A cross-site page load may lack the cookie
only because SameSite=Strict withholds it: that response sets nothing (it would overwrite the browser's identity),
and the page's own websocket, which is same-site and carries the cookie, settles who it is (a browser that truly
has none gets its secret in the websocket's handshake response).
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

COOKIE = "tl_owner"
MAX_AGE_S = 400 * 24 * 3600  # the longest lifetime browsers allow
_SECRET = re.compile(r"[A-Za-z0-9_-]{32,64}", re.ASCII)


def is_secret(value: object) -> bool:
    """True for a secret this server could have handed out (a str of 32–64 URL-safe characters)."""
    return isinstance(value, str) and _SECRET.fullmatch(value) is not None


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def set_cookie_header(secret: str, secure: bool) -> str:
    return (f"{COOKIE}={secret}; Max-Age={MAX_AGE_S}; Path=/; HttpOnly; SameSite=Strict"
            + ("; Secure" if secure else ""))


def owner_secret(cookie_headers: list[bytes]) -> str | None:
    """The first valid `tl_owner` secret in a request's Cookie headers, else None; never raises."""
    for raw in cookie_headers:
        for part in raw.decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and is_secret(value):
                return value
    return None


def _other_cookies(cookie_headers: list[bytes]) -> list[str]:
    """The request's cookies but `tl_owner` (whatever values it had), as `name=value` strings."""
    kept = []
    for raw in cookie_headers:
        for part in raw.decode("latin-1").split(";"):
            name = part.strip().partition("=")[0]
            if part.strip() and name != COOKIE:
                kept.append(part.strip())
    return kept


def _cross_site(headers: dict[bytes, bytes]) -> bool:
    """A page load that another site linked to. Browsers say so in Sec-Fetch-Site, but only to secure origins
    (HTTPS, loopback); on a plain-HTTP lab server the Referer's host, when there is one, tells instead."""
    fetch_site = headers.get(b"sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == b"cross-site"
    try:
        referer = urlsplit(headers.get(b"referer", b"").decode("latin-1")).netloc
    except ValueError:  # not a URL: the page's websocket sets the cookie instead
        return True
    return bool(referer) and referer != headers.get(b"host", b"").decode("latin-1")


def _is_https(scope: dict, headers: dict[bytes, bytes]) -> bool:
    forwarded = headers.get(b"x-forwarded-proto", b"").decode("latin-1").split(",")[0].strip().lower()
    return scope.get("scheme") in ("https", "wss") or forwarded == "https"


class OwnerCookie:
    """ASGI middleware: each request reaches Streamlit with exactly one valid `tl_owner` cookie (the browser's, or
    a fresh one that the response sets), except a cross-site page load with none (see the module's docstring)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        cookie_headers = [value for name, value in scope["headers"] if name == b"cookie"]
        headers = dict(scope["headers"])
        secret = owner_secret(cookie_headers)
        fresh = secret is None and not (scope["type"] == "http" and _cross_site(headers))
        if fresh:
            secret = new_secret()
        cookies = _other_cookies(cookie_headers) + ([f"{COOKIE}={secret}"] if secret else [])
        rest = [(name, value) for name, value in scope["headers"] if name != b"cookie"]
        scope = {**scope, "headers": rest + ([(b"cookie", "; ".join(cookies).encode("latin-1"))] if cookies else [])}
        if not fresh:
            return await self.app(scope, receive, send)
        set_cookie = (b"set-cookie", set_cookie_header(secret, _is_https(scope, headers)).encode("latin-1"))

        async def send_with_cookie(message):
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": [*message.get("headers", []), set_cookie]}
            await send(message)

        return await self.app(scope, receive, send_with_cookie)
