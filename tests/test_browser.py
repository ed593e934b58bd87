"""The dashboard in a real browser: `streamlit run serve.py` (as `make run`) on a loopback port, Debian's Chromium
via Playwright.

Skipped when /usr/bin/chromium is missing, unless CI=true (then it fails: CI must run it). Screenshots go to
test-artifacts/ (gitignored).
"""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SLOW = 420_000  # ms: generous for a busy 2-core machine; an idle one needs a fraction of it

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)",
                    pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_dashboard(env: dict, log_path: Path):
    """`streamlit run serve.py` (as `make run`) on a free loopback port with `env`; yields its URL once healthy,
    stops it after."""
    port = _free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90
            while True:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"streamlit did not start: see {log_path}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    """One dashboard server for the module, with its own runs folder; stopped (with its runs) at the end."""
    runs = tmp_path_factory.mktemp("browser-runs")
    env = {**os.environ, "TL_RUNS_DIR": str(runs), "TL_DATA_DIR": str(data_dir), "TL_OFFLINE": "1",
           "TL_WARM_UMAP": "0"}  # the maps fall back to PCA: no 25-s UMAP compile competing with training
    with running_dashboard(env, tmp_path_factory.mktemp("browser-log") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def student(browser, url: str, height: int = 1800):
    """A browser context of its own (its own owner cookie) on `url`, once the page shows Train: (context, page)."""
    context = browser.new_context(viewport={"width": 1500, "height": height})
    page = context.new_page()
    page.goto(url)
    page.get_by_role("button", name="Train", exact=True).wait_for(timeout=SLOW)
    return context, page


def open_page(browser, url: str):
    return student(browser, url)[1]


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def no_exceptions(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, "the page shows a traceback"


CURVES = ("with transfer · target", "without transfer · target")  # the learning curves' target-accuracy traces
POINTS_OVER = """(args) => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .some(el => (el.data || []).some(t => args.names.includes(t.name) && t.x && t.x.length >= args.n))"""


def points(page, name: str) -> int:
    """How many points the trace called `name` has, read from plotly's own chart objects in the page."""
    return page.evaluate("""(name) => {
        let best = 0;
        for (const el of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {
            for (const t of (el.data || [])) if (t.name === name && t.x) best = Math.max(best, t.x.length);
        }
        return best;
    }""", name)


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(600)


def test_train_with_the_defaults_then_see_the_maps(server, browser):
    page = open_page(browser, server)
    page.get_by_text("What you will see").wait_for(timeout=SLOW)
    no_exceptions(page)
    shot(page, "01-experiment-empty")
    page.get_by_role("button", name="Train", exact=True).click()
    # the learning curve fills in live (without transfer starts first: it needs no pretraining)
    page.wait_for_function(POINTS_OVER, arg={"names": list(CURVES), "n": 2}, timeout=SLOW)
    no_exceptions(page)
    assert max(points(page, name) for name in CURVES) >= 2
    assert page.get_by_text("Without transfer — target accuracy").count() == 1
    shot(page, "02-experiment-training")

    page.get_by_role("link", name="Embeddings").click()
    page.get_by_text("Side by side with").wait_for(timeout=SLOW)
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
        .some(el => (el.data || []).some(t => (t.name || '').endsWith(' · source') && t.x && t.x.length > 50))""",
                           timeout=SLOW)
    no_exceptions(page)
    shot(page, "03-embeddings")

    # back on the Experiment page the tab still shows its runs; Stop ends them (the next test wants the queue)
    page.get_by_role("link", name="Experiment").click()
    page.get_by_text("With transfer — target accuracy").wait_for(timeout=SLOW)
    stop_all(page)
    no_exceptions(page)
    page.context.close()


def stop_all(page) -> None:
    """Click Stop until no run of this tab is left (the live view may redraw under a click)."""
    stop = page.get_by_role("button", name="Stop", exact=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        if not stop.count():
            page.wait_for_timeout(2000)  # none while the page redraws is not none: look again once it settled
            if not stop.count():
                break
            continue
        try:
            stop.first.click(timeout=5000)
        except sync_api.Error:
            pass  # the live view redrew under the click: try again
        page.wait_for_timeout(2000)
    assert stop.count() == 0, "the runs did not stop"


def test_a_second_session_queues_while_the_first_trains(server, browser):
    def quick_run(page, epochs: int) -> None:
        page.get_by_text("Also train it without transfer", exact=False).click()  # one run each
        page.get_by_text("Random — no transfer").click()
        page.wait_for_timeout(500)
        set_number(page, "Epochs", epochs)
        page.get_by_text("More training settings").click()
        set_number(page, "Snapshot size (images per domain)", 100)
        page.get_by_role("button", name="Train", exact=True).click()

    first, second = open_page(browser, server), open_page(browser, server)
    quick_run(first, 200)  # long enough to still be training when the second arrives, even on an idle machine
    first.get_by_text("This run — target accuracy").wait_for(timeout=SLOW)
    quick_run(second, 2)
    second.get_by_text("position 1 in the queue", exact=False).first.wait_for(timeout=SLOW)  # behind the first
    shot(second, "04-second-session-queued")
    no_exceptions(second)
    stop_all(first)  # the first tab's Stop ends only its own run: the second one starts
    second.get_by_text("Finished in", exact=False).wait_for(timeout=SLOW)
    second.get_by_role("button", name="Stop", exact=True).wait_for(state="detached", timeout=SLOW)
    for page in (first, second):
        no_exceptions(page)
    assert points(second, "this run · target") == 2
    shot(second, "05-second-session-finished")
    first.context.close()
    second.context.close()
