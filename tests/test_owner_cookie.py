"""Issue 22, finding 5: the owner cookie is the server's. A browser without a valid `tl_owner` secret gets one in an
HttpOnly, SameSite=Strict cookie before its page loads; a malformed or non-ASCII cookie is replaced and never makes a
page fail; a cross-site page load (which SameSite=Strict sends without the cookie) never overwrites it."""
import asyncio
import types

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from tl_core.serving.owners import owner_id
from tl_ui.owner_cookie import COOKIE, OwnerCookie, is_secret, new_secret

VALID = new_secret()


def through(headers: list[tuple[bytes, bytes]], kind: str = "http", scheme: str = "http"):
    """Send one request through the middleware; returns (the Cookie header Streamlit sees, the Set-Cookie sent)."""
    seen = {}
    sent = []

    async def streamlit_app(scope, receive, send):
        seen["cookie"] = b"; ".join(v for n, v in scope["headers"] if n == b"cookie").decode("latin-1")
        start = "http.response.start" if kind == "http" else "websocket.accept"
        await send({"type": start, "status": 200, "headers": [(b"content-type", b"text/html")]})

    async def receive():
        return {"type": "http.request"}

    async def send(message):
        sent.append(message)

    scope = {"type": kind, "scheme": scheme, "path": "/", "headers": headers}
    asyncio.run(OwnerCookie(streamlit_app)(scope, receive, send))
    set_cookie = [v.decode("latin-1") for n, v in sent[0].get("headers", []) if n == b"set-cookie"]
    return seen["cookie"], set_cookie


def secret_in(cookie_header: str) -> list[str]:
    return [part.split("=", 1)[1] for part in cookie_header.split("; ") if part.startswith(f"{COOKIE}=")]


def test_a_new_browser_gets_an_httponly_strict_secret_and_its_request_already_carries_it():
    seen, set_cookie = through([(b"host", b"lab")])
    assert len(set_cookie) == 1
    value, *attributes = set_cookie[0].split("; ")
    assert value.startswith(f"{COOKIE}=") and is_secret(value.split("=", 1)[1])
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(attributes) and "Secure" not in attributes
    assert secret_in(seen) == [value.split("=", 1)[1]]
    assert through([(b"host", b"lab")])[1] != set_cookie  # each browser its own secret


def test_a_valid_secret_is_kept_and_not_set_again():
    seen, set_cookie = through([(b"cookie", f"a=1; {COOKIE}={VALID}".encode())])
    assert set_cookie == [] and secret_in(seen) == [VALID] and "a=1" in seen


@pytest.mark.parametrize("bad", ["ü" * 43, "short", "x" * 100, VALID + "!", '"' + VALID + '"', ""],
                         ids=["non-ascii", "short", "long", "punctuation", "quoted", "empty"])
def test_a_malformed_or_non_ascii_cookie_is_replaced_and_the_others_kept(bad):
    seen, set_cookie = through([(b"cookie", f"a=1; {COOKIE}={bad}; b=2".encode("utf-8"))])
    fresh = secret_in(set_cookie[0])
    assert len(fresh) == 1 and is_secret(fresh[0]) and fresh[0] != bad
    assert secret_in(seen) == fresh and "a=1" in seen and "b=2" in seen


def test_a_secret_is_exactly_32_to_64_url_safe_characters():
    assert is_secret(VALID) and not is_secret(VALID + "\n") and not is_secret(None) and not is_secret("é" * 40)


def test_of_two_owner_cookies_the_valid_one_is_the_only_one_streamlit_sees():
    seen, set_cookie = through([(b"cookie", f"{COOKIE}=bad; {COOKIE}={VALID}".encode())])
    assert set_cookie == [] and secret_in(seen) == [VALID]


@pytest.mark.parametrize("headers, scheme", [([(b"x-forwarded-proto", b"https")], "http"), ([], "https")])
def test_the_cookie_is_secure_when_the_page_came_over_https(headers, scheme):
    _, set_cookie = through(headers, scheme=scheme)
    assert set_cookie[0].endswith("; Secure")


@pytest.mark.parametrize("headers", [
    [(b"sec-fetch-site", b"cross-site"), (b"cookie", f"{COOKIE}=ü".encode())],
    [(b"host", b"lab:8501"), (b"referer", b"https://lms.example/course/7")],  # plain HTTP: no Sec-Fetch-Site
    [(b"host", b"lab:8501"), (b"referer", b"http://[not-a-url")],
], ids=["sec-fetch-site", "referer", "broken-referer"])
def test_a_cross_site_page_load_without_the_cookie_does_not_overwrite_the_browsers_secret(headers):
    """SameSite=Strict: a link from another site (the class's LMS) loads the page without the cookie. The page's
    own websocket is same-site and carries it; setting a fresh one here would make the student someone new."""
    seen, set_cookie = through(headers)
    assert set_cookie == [] and secret_in(seen) == []


def test_a_page_load_from_the_labs_own_pages_or_typed_in_gets_a_secret():
    for headers in ([(b"host", b"lab:8501"), (b"referer", b"http://lab:8501/runs")],
                    [(b"sec-fetch-site", b"none")], [(b"sec-fetch-site", b"same-origin")]):
        assert len(through(headers)[1]) == 1


def test_a_websocket_without_a_secret_is_accepted_with_one_and_its_session_reads_it():
    seen, set_cookie = through([(b"sec-fetch-site", b"same-origin")], kind="websocket")
    assert len(set_cookie) == 1 and secret_in(seen) == secret_in(set_cookie[0])


def _owner_script():
    import streamlit as st

    from tl_ui import state

    st.write(state.owner())


@pytest.mark.parametrize("cookie", ["ü" * 43, "not a secret", VALID], ids=["non-ascii", "malformed", "valid"])
def test_a_session_never_fails_on_its_cookie_and_takes_only_a_valid_one(monkeypatch, cookie):
    monkeypatch.setattr(streamlit, "context", types.SimpleNamespace(cookies={COOKIE: cookie}))
    at = AppTest.from_function(_owner_script).run(timeout=30)
    assert not at.exception
    assert (at.session_state["owner_secret"] == cookie) is (cookie == VALID)
    assert at.markdown[0].value == owner_id(at.session_state["owner_secret"])
