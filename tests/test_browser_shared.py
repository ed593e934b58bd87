"""Issue 22 in a real browser: students who press Train with the same defaults share one computation, and each of
them sees the whole experiment — both learning curves, the maps and the domain-confusion chart — whether they
pressed while it ran (they follow it) or after it finished (their runs are filled from its record). Also: the
server gives each browser its owner cookie (HttpOnly, SameSite=Strict) and a broken cookie never breaks a page."""
import os
import re
import urllib.request

import pytest
from test_browser import SLOW, browser, no_exceptions, running_dashboard, shot, student  # noqa: F401  (browser: a fixture)

from tl_core.runs.config import RunConfig
from tl_ui.nav import PAGES
from tl_view.share_link import encode_config

sync_api = pytest.importorskip("playwright.sync_api")
# The class's link: the Experiment page's defaults with shorter training (every student opens the same link)
CLASS = RunConfig(epochs=2, pretrain_epochs=2, snapshot_size=300)
EPOCHS = CLASS.epochs
CURVES = ("with transfer · target", "without transfer · target")
CONFUSION = ("with transfer", "without transfer")  # the domain-confusion chart's traces: one per run
CONFUSION_POINTS = EPOCHS + 1  # the network each run starts from (epoch 0), then every epoch
TRACES = """() => {
    const out = {};
    for (const el of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot'))
        for (const t of (el.data || [])) if (t.name && t.x) out[t.name] = Math.max(out[t.name] || 0, t.x.length);
    return out;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    base = tmp_path_factory.mktemp("shared")
    env = {**os.environ, "TL_RUNS_DIR": str(base / "runs"), "TL_DATA_DIR": str(data_dir), "TL_OFFLINE": "1",
           "TL_WARM_UMAP": "0", "TL_MAX_RUNS": "1"}
    with running_dashboard(env, base / "streamlit.log") as url:
        yield url, base / "streamlit.log"


def traces(page) -> dict[str, int]:
    """Points per plotly trace on the page, by trace name."""
    return page.evaluate(TRACES)


def sees_the_whole_experiment(page, timeout: int = SLOW) -> dict[str, int]:
    """Waits until the Experiment page draws both runs in full; returns the page's traces."""
    page.wait_for_function(f"""() => {{
        const n = ({TRACES})();
        return {list(CURVES)}.every(name => n[name] === {EPOCHS})
            && {list(CONFUSION)}.every(name => n[name] === {CONFUSION_POINTS})
            && Object.keys(n).filter(name => name.startsWith('With') && name.endsWith(' · source')).length >= 2;
    }}""", timeout=timeout)
    no_exceptions(page)
    return traces(page)


def on_page(page, title: str) -> None:
    """Open another page from the menu and wait until its script has run (the previous page's charts are gone)."""
    page.get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=SLOW)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=SLOW)


def test_students_pressing_the_same_defaults_all_see_the_whole_experiment(server, browser):
    url, _ = server
    link = f"{url}/?cfg={encode_config(CLASS)}"
    ctx_a, first = student(browser, link, height=2200)
    first.get_by_role("button", name="Train", exact=True).click()
    first.get_by_role("button", name="Stop", exact=True).first.wait_for(timeout=SLOW)
    ctx_c, follower = student(browser, link, height=2200)  # presses while the first student's runs are in flight
    follower.get_by_role("button", name="Train", exact=True).click()
    # real training (datasets built, task A pretrained, both runs one after the other): minutes on a busy machine
    drawn = {"first": sees_the_whole_experiment(first, timeout=3 * SLOW),
             "follower": sees_the_whole_experiment(follower)}
    first.get_by_role("button", name="Stop", exact=True).wait_for(state="detached", timeout=SLOW)

    ctx_b, late = student(browser, link, height=2200)  # presses after they finished: filled from their records at once
    late.get_by_role("button", name="Train", exact=True).click()
    drawn["late"] = sees_the_whole_experiment(late)
    late.get_by_text("Shared: an identical run was computed once", exact=False).first.wait_for(timeout=SLOW)
    shot(late, "shared-late-student-experiment")
    maps = {who: sorted(name for name, n in seen.items() if name.endswith((" · source", " · target")) and n > 50)
            for who, seen in drawn.items()}
    assert maps["first"] and maps["follower"] == maps["first"] and maps["late"] == maps["first"]
    for who, seen in drawn.items():
        assert all(seen[name] == EPOCHS for name in CURVES), (who, seen)
        assert all(seen[name] == CONFUSION_POINTS for name in CONFUSION), (who, seen)

    on_page(late, "Domain shift")
    late.wait_for_function(f"() => Object.values(({TRACES})()).filter(n => n === {CONFUSION_POINTS}).length >= 2",
                           timeout=SLOW)
    no_exceptions(late)
    on_page(late, "Embeddings")
    late.wait_for_function(f"() => Object.entries(({TRACES})()).some(([name, n]) => "
                           "name.endsWith(' · source') && n > 50)", timeout=SLOW)
    no_exceptions(late)
    shot(late, "shared-late-student-embeddings")
    for context in (ctx_a, ctx_b, ctx_c):
        context.close()


def test_the_server_sets_the_owner_cookie_before_the_page_loads(server, browser):
    server, _ = server
    with urllib.request.urlopen(urllib.request.Request(server, method="HEAD")) as response:
        cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("tl_owner=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    context, page = student(browser, server, height=2200)
    owner = next(c for c in context.cookies() if c["name"] == "tl_owner")
    assert owner["httpOnly"] and owner["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("tl_owner") == -1  # no script on the page can read it
    context.close()


def test_a_non_ascii_owner_cookie_is_replaced_and_the_page_works(server, browser):
    server, _ = server
    context = browser.new_context()
    context.add_cookies([{"name": "tl_owner", "value": "ünïcødé-" * 5, "url": server}])
    page = context.new_page()
    page.goto(server)
    page.get_by_role("button", name="Train", exact=True).wait_for(timeout=SLOW)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=SLOW)
    no_exceptions(page)
    assert page.get_by_text("comparing strings with non-ASCII", exact=False).count() == 0
    owner = next(c for c in context.cookies() if c["name"] == "tl_owner")
    assert owner["value"].isascii() and len(owner["value"]) >= 32 and owner["httpOnly"]
    context.close()


def arrive_from_another_site(context, url: str):
    """Follow a link to `url` on a page of another site (served by the browser itself): a cross-site navigation."""
    page = context.new_page()
    page.route("http://lms.example/**", lambda route: route.fulfill(
        content_type="text/html", body=f'<a id="go" href="{url}">the lab</a>'))
    page.goto("http://lms.example/course")
    page.click("#go")
    page.get_by_role("button", name="Train", exact=True).wait_for(timeout=SLOW)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=SLOW)
    no_exceptions(page)
    return page


def test_a_link_from_another_site_keeps_the_students_identity_and_gives_a_new_browser_one(server, browser):
    url, _ = server
    returning = browser.new_context()
    returning.new_page().goto(url)
    before = [c["value"] for c in returning.cookies() if c["name"] == "tl_owner"]
    arrive_from_another_site(returning, url)
    assert [c["value"] for c in returning.cookies() if c["name"] == "tl_owner"] == before and len(before) == 1
    newcomer = browser.new_context()
    arrive_from_another_site(newcomer, url)
    owner = [c for c in newcomer.cookies() if c["name"] == "tl_owner"]
    assert len(owner) == 1 and owner[0]["httpOnly"] and owner[0]["value"] != before[0]
    returning.close()
    newcomer.close()


def test_a_session_through_every_page_leaves_no_warning_in_the_servers_terminal(server, browser):
    """Last in this module: the log holds everything the sessions above did too."""
    server, log = server
    context, page = student(browser, server, height=2200)
    for _section, _file, title, _icon in PAGES:
        on_page(page, title)
        page.wait_for_timeout(3000)  # live fragments poll meanwhile
        no_exceptions(page)
    context.close()
    noise = [line for line in log.read_text().splitlines()
             if re.search("Warning|Traceback|deprecated|will be removed|No runtime found", line, re.IGNORECASE)]
    assert noise == []
