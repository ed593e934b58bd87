"""A teacher's first hour, walked in Chromium (issue 24's route): the Experiment page's defaults → DANN →
Embeddings → Domain shift → lessons 1, 4, 5 and 8 → teacher mode, a reload, Class view → a share link opened in
a fresh context → Runs → a feasibility check on the generated example; then the server's terminal (its log) must
hold no warning, deprecation or traceback.

It starts `streamlit run serve.py` (as `make run`) on a loopback port with a teacher token, a fresh runs folder and
the data folder given, saves a screenshot per step under `--out` and prints one `RESULT step=… ok=…` line per
check, with what it saw when a check fails, and the seconds each step waited. The lessons are pressed one after
another and run in the class's one queue while the walk goes on, as a teacher would press them.

    python bench/teacher_walk.py [--out test-artifacts/walk] [--lessons 1,4,5,8] [--data-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import tempfile
import time
from base64 import urlsafe_b64decode
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from common import dashboard, load_now, say

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WAIT_MS = 1_200_000
TOKEN = "walk-" + secrets.token_hex(8)
IDLE = """() => document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === 'notRunning'"""
VERDICT = re.compile(r"Measured over \d+ seeds?|No verdict: these runs did not finish")
BADGES = ("✓ met", "✗ not met", "? undecided")
# What a server's terminal must not show after a normal session (issue 22): warnings, deprecations, tracebacks.
TERMINAL_NOISE = re.compile(r"warn|deprecat|traceback|error|exception|no runtime found", re.IGNORECASE)


class Walk:
    def __init__(self, out: Path):
        self.out, self.failures, self.started = out, [], time.time()
        out.mkdir(parents=True, exist_ok=True)

    def check(self, step: str, ok: bool, saw: str = "") -> None:
        say(f"RESULT step={step} ok={int(ok)} at_s={time.time() - self.started:.0f}"
            + ("" if ok else f" saw={json.dumps(saw[:300])}"))
        if not ok:
            self.failures.append(step)

    def shot(self, page, name: str) -> None:
        page.wait_for_function(IDLE, timeout=WAIT_MS)
        page.mouse.move(2, 2)  # no tooltip left over from the last click
        page.wait_for_timeout(800)
        page.screenshot(path=str(self.out / f"{name}.png"), full_page=True)

    def no_traceback(self, page, step: str) -> None:
        self.check(f"{step}-no-traceback", page.locator("[data-testid='stException']").count() == 0,
                   page.locator("[data-testid='stException']").first.inner_text() if
                   page.locator("[data-testid='stException']").count() else "")


def text_of(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def settle(page, ms: int = 1500) -> None:
    page.wait_for_function(IDLE, timeout=WAIT_MS)
    page.wait_for_timeout(ms)


def wait_finished(page) -> None:
    """Until this tab's runs have all ended: the page shows "Finished in" and no Stop button."""
    page.get_by_text("Finished in").first.wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="Stop", exact=True).first.wait_for(state="detached", timeout=WAIT_MS)


def experiment(walk: Walk, page) -> None:
    page.get_by_role("button", name="Train", exact=True).wait_for(timeout=WAIT_MS)
    settle(page)
    walk.shot(page, "01-experiment-defaults")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_role("button", name="Stop", exact=True).first.wait_for(timeout=WAIT_MS)
    wait_finished(page)
    settle(page)
    walk.shot(page, "02-experiment-defaults-finished")
    body = text_of(page)
    walk.check("defaults-finished", "With transfer" in body and "Without transfer" in body, body)
    walk.no_traceback(page, "defaults")

    box = page.get_by_role("combobox", name="Strategy")
    box.click()
    box.fill("dann")
    box.press("Enter")
    settle(page)
    body = text_of(page)
    walk.check("dann-twin-words", "without adaptation" in body, body)
    walk.check("dann-old-results-labelled", "Results of the run shown" in body, body)
    walk.shot(page, "03-experiment-dann-before")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("With adaptation — target accuracy").wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="Stop", exact=True).first.wait_for(timeout=WAIT_MS)
    wait_finished(page)
    settle(page, 6000)
    walk.shot(page, "04-experiment-dann-finished")
    walk.no_traceback(page, "dann")


def embeddings_and_shift(walk: Walk, page, url: str) -> None:
    page.goto(f"{url}/embeddings")
    page.get_by_text("Side by side with").wait_for(timeout=WAIT_MS)
    settle(page, 3000)
    play = page.get_by_text("▶ Play")  # plotly's own button, drawn in the chart
    box = play.first.bounding_box() if play.count() else None
    walk.check("embeddings-play-above-the-fold", box is not None and box["y"] + box["height"] <= 1000,
               str(box))
    walk.shot(page, "05-embeddings")
    walk.no_traceback(page, "embeddings")
    page.goto(f"{url}/domain_shift")
    settle(page, 4000)
    body = text_of(page)
    walk.check("domain-shift-names-the-twin", "without adaptation" in body, body)
    walk.shot(page, "06-domain-shift")
    walk.no_traceback(page, "domain-shift")


def lessons(walk: Walk, page, url: str, picks: list[str]) -> dict[str, float]:
    """Press each lesson (they queue together), then visit each until its verdict; no badge may show while the
    page says its seeds are not all in."""
    page.goto(f"{url}/lessons")
    page.get_by_role("button", name="Run this lesson").wait_for(timeout=WAIT_MS)
    settle(page)  # the button can show before the lesson list has been drawn
    titles = [t.strip() for t in page.locator("[data-testid='stRadio'] label").all_inner_texts() if t.strip()]
    pressed = {}
    for pick in picks:
        title = next(t for t in titles if t.startswith(f"{pick} ·"))
        radio(page, title).click()
        settle(page)
        promise = re.search(r"Takes about [^.]*", text_of(page))
        page.get_by_role("button", name="Run this lesson").click()
        settle(page)
        pressed[title] = time.time()
        say(f"pressed {title!r}: {promise[0] if promise else 'no promise shown'}")
    took = {}
    for title, at in pressed.items():
        radio(page, title).click()
        page.get_by_role("heading", name=title).wait_for(timeout=WAIT_MS)
        settle(page)
        badge_early = False
        while time.time() - at < WAIT_MS / 1000:
            body = text_of(page)
            if VERDICT.search(body):
                break
            if "no verdict yet" in body and any(b in body for b in BADGES):
                badge_early = True
            page.wait_for_timeout(3000)
        took[title] = time.time() - at
        settle(page, 3000)
        body = text_of(page)
        walk.check(f"lesson-{pick_key(title)}-verdict", bool(VERDICT.search(body)), body[-600:])
        walk.check(f"lesson-{pick_key(title)}-no-early-badge", not badge_early)
        walk.shot(page, f"07-lesson-{pick_key(title)}")
        walk.no_traceback(page, f"lesson-{pick_key(title)}")
        say(f"{title!r}: verdict {took[title]:.0f} s after its press")
    return took


def radio(page, title: str):
    return page.locator("[data-testid='stRadio']").get_by_text(title, exact=True)


def pick_key(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:30]


def teacher(walk: Walk, page, url: str) -> None:
    page.goto(url)
    settle(page)
    page.get_by_text("Teacher", exact=True).click()
    page.get_by_label("Teacher token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Unlock").click()
    settle(page)
    page.reload()
    settle(page)
    walk.check("teacher-mode-survives-reload", page.get_by_role("button", name="Leave teacher mode").count() > 0
               or "Teacher mode" in page.locator("section[data-testid='stSidebar']").inner_text())
    page.goto(f"{url}/class_view")
    settle(page, 4000)
    body = text_of(page)
    walk.check("class-view-open", "unlock" not in body.lower(), body[:400])
    walk.shot(page, "08-class-view")
    walk.no_traceback(page, "class-view")


def share_link(walk: Walk, browser, page, url: str) -> None:
    page.goto(url)
    settle(page)
    page.get_by_role("button", name=re.compile("Share these settings")).click()
    page.wait_for_timeout(800)
    link = page.locator("[data-testid='stPopoverBody'] code").first.inner_text().strip()
    cfg = parse_qs(urlparse(link).query).get("cfg", [""])[0]
    settings = json.loads(urlsafe_b64decode(cfg + "=" * (-len(cfg) % 4))) if cfg else {}
    walk.check("share-link-has-no-internal-settings", not {"name", "role", "experiment", "arm"} & set(settings),
               json.dumps(settings))
    page.keyboard.press("Escape")
    fresh = browser.new_context(viewport={"width": 1440, "height": 1000})
    student = fresh.new_page()
    student.goto(url.rstrip("/") + "/?" + urlparse(link).query)
    student.get_by_role("button", name="Train", exact=True).wait_for(timeout=WAIT_MS)
    settle(student)
    walk.shot(student, "09-share-link-fresh-student")
    body = text_of(student)
    walk.check("share-link-no-role-names", "teacher (transferred)" not in body, body[:400])
    walk.no_traceback(student, "share-link")
    fresh.close()


def runs_page(walk: Walk, page, url: str) -> None:
    page.goto(f"{url}/runs")
    settle(page, 3000)
    body = text_of(page)
    walk.check("runs-opens-on-a-finished-run", "has no evaluation" not in body and "newest finished" in body,
               body[:600])
    walk.shot(page, "10-runs")
    walk.no_traceback(page, "runs")


def feasibility(walk: Walk, page, url: str) -> float:
    page.goto(f"{url}/feasibility")
    settle(page)
    page.get_by_text("Try an example").first.click()
    settle(page, 3000)
    promise = re.search(r"[Aa]bout [^.]*", text_of(page))
    say(f"feasibility promise: {promise[0] if promise else 'none'}")
    started = time.time()
    page.get_by_role("button", name="Run the check").click()
    stop = page.get_by_role("button", name="Stop the check")
    stop.wait_for(timeout=WAIT_MS)
    stop.wait_for(state="detached", timeout=WAIT_MS)  # the check has ended
    took = time.time() - started
    settle(page, 3000)
    walk.shot(page, "11-feasibility-report")
    walk.no_traceback(page, "feasibility")
    say(f"feasibility: report {took:.0f} s after the press")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "test-artifacts" / "walk")
    parser.add_argument("--lessons", default="1,4,5,8", help="comma-separated lesson numbers")
    parser.add_argument("--data-dir", default=os.environ.get("TL_DATA_DIR", ""))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    walk = Walk(args.out)
    say(f"load at start: {load_now()}")
    env = {"TL_TEACHER_TOKEN": TOKEN, "TL_OFFLINE": "1", **({"TL_DATA_DIR": args.data_dir} if args.data_dir else {})}
    with tempfile.TemporaryDirectory() as folder, \
            dashboard({**env, "TL_RUNS_DIR": f"{folder}/runs"}, args.out / "streamlit.log", script="serve.py") \
            as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
        page.goto(url)
        experiment(walk, page)
        embeddings_and_shift(walk, page, url)
        took = lessons(walk, page, url, [s.strip() for s in args.lessons.split(",") if s.strip()])
        teacher(walk, page, url)
        share_link(walk, browser, page, url)
        runs_page(walk, page, url)
        feasibility(walk, page, url)
        browser.close()
    noisy = [line for line in (args.out / "streamlit.log").read_text().splitlines() if TERMINAL_NOISE.search(line)]
    walk.check("terminal-clean", not noisy, "\n".join(noisy[:20]))
    say(f"load at end: {load_now()}; screenshots in {args.out}")
    say(f"RESULT checks_failed={len(walk.failures)} lessons={len(took)} minutes={(time.time() - walk.started) / 60:.1f}")
    return 1 if walk.failures else 0


if __name__ == "__main__":
    sys.exit(main())
