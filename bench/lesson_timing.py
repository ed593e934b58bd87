"""Do the page's time promises hold? Lesson 1's verdict against its card's promise, and the Experiment page's
defaults — the with-transfer curve's first point — against the promise under Train. In a real browser, each on a
fresh server.

`streamlit run app.py` runs with an empty runs folder (TL_OFFLINE=1, TL_WARM_UMAP=0). The datasets are built
beforehand; the source network is used as the runs find it (shipped or cached). Lesson: one Chromium context opens
the Lessons page and reads the promise on lesson 1's card ("Takes about …"), reloading while the fresh server still
times its first batches; it saves a screenshot of the card, presses "Run this lesson", times press → verdict
visible, and saves a screenshot of the verdict. Defaults: a context opens the Experiment page, reads the promise
under Train ("About …"), saves a screenshot, presses Train and times press → the with-transfer curve's first point
drawn in the chart (read from the chart itself), and saves a screenshot. The script prints promised against actual
and the load average: only a run on an idle machine gives the figure that counts.

    python bench/lesson_timing.py [--cases lesson,defaults] [--out test-artifacts] [--timeout 1800]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path

from classroom import (CHROMIUM, CHROMIUM_ARGS, LESSON, PRESS, build_datasets, dashboard_of, open_lessons,
                       wait_for_verdict)
from common import ROOT, bench_runs_dir, load_now, say

from tl_core.lessons import needs_pretraining, stage_configs

PROMISE = re.compile(r"Takes about ([^:]+):")
TRAIN_PROMISE = re.compile(r"About ([^:]+):")
# Points of the main run's curve drawn so far: plotly keeps the figure's data on its div (tl_ui/live.py keys the
# chart "live-curves"; tl_view.charts names the run's traces after its label).
CURVE_POINTS = """() => { const gd = document.querySelector('.st-key-live-curves .js-plotly-plot');
  if (!gd || !gd.data) return 0;
  return Math.max(0, ...gd.data.filter(t => (t.name || '').startsWith('with transfer')).map(t => (t.x || []).length)); }"""


def promised_seconds(text: str) -> float:
    """The seconds in '40 s', '3 min' or '1 h 05 min' (how tl_view.views.rough words an estimate)."""
    hours = re.search(r"(\d+) h", text)
    minutes = re.search(r"(\d+) min", text)
    seconds = re.search(r"(\d+) s\b", text)
    return sum(int(m.group(1)) * unit for m, unit in ((hours, 3600), (minutes, 60), (seconds, 1)) if m)


def promise_in(pattern: re.Pattern, text: str) -> tuple[str, float]:
    """(the promise's words, its seconds) in a page's text; ('?', nan) where it says none."""
    match = pattern.search(text)
    return (match.group(1), promised_seconds(match.group(1))) if match else ("?", float("nan"))


async def sample_load(samples: list[float]) -> None:
    while True:
        samples.append(os.getloadavg()[0])
        await asyncio.sleep(5)


async def measure(url: str, out: Path, timeout_s: float, load: list[float]) -> tuple[str, float, float, float]:
    """(the card's promise, press → first verdict, press → final verdict in seconds, the press's time);
    screenshots into `out`; the 1-minute load average every 5 s from the press on into `load`."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        _, page, _ = await open_lessons(browser, url)
        promise = page.get_by_text(PROMISE)
        deadline = time.time() + 120
        while not await promise.count() and time.time() < deadline:  # the fresh server times a few batches first
            await page.wait_for_timeout(3000)
            await page.reload()
            await page.get_by_role("button", name=PRESS).wait_for(timeout=120_000)
        text = await promise.first.inner_text()
        await page.screenshot(path=str(out / "lesson1-card-before.png"), full_page=True)
        pressed = time.time()
        sampler = asyncio.create_task(sample_load(load))
        await page.get_by_role("button", name=PRESS).click()
        first = await wait_for_verdict(page, timeout_s) - pressed
        took = time.time() - pressed
        sampler.cancel()
        await page.screenshot(path=str(out / "lesson1-verdict-after.png"), full_page=True)
        await browser.close()
    return text, first, took, pressed


def runs_line(runs: Path, pressed: float) -> str:
    """Where the time after the press went: when the runs started and ended, and their own seconds."""
    summaries = [json.loads(p.read_text()) for p in runs.glob("*/summary.json")]
    done = [s for s in summaries if s.get("started") and s.get("seconds")]
    if not done:
        return "runs: none recorded"
    first = min(s["started"] for s in done) - pressed
    last = max(s["started"] + s["seconds"] for s in done) - pressed
    return (f"runs: {len(done)} recorded; the first started {first:.1f} s after the press, the last ended {last:.1f} s "
            f"after it; their own seconds add up to {sum(s['seconds'] for s in done):.1f} s")


async def measure_defaults(url: str, out: Path, timeout_s: float) -> tuple[str, float, float]:
    """(the promise under Train, press → the with-transfer curve's first point in seconds, the press's time);
    screenshots into `out`."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await (await browser.new_context(viewport={"width": 1500, "height": 1400})).new_page()
        await page.goto(url)
        promise = page.get_by_text(TRAIN_PROMISE)
        await promise.first.wait_for(timeout=180_000)  # after the fresh server has timed a few batches
        text = await promise.first.inner_text()
        await page.screenshot(path=str(out / "defaults-before.png"), full_page=True)
        pressed = time.time()
        await page.get_by_role("button", name="Train", exact=True).click()
        await page.wait_for_function(CURVE_POINTS, timeout=timeout_s * 1000, polling=200)
        took = time.time() - pressed
        await page.screenshot(path=str(out / "defaults-first-point.png"), full_page=True)
        await browser.close()
    return text, took, pressed


def wait_for_runs(runs: Path, count: int, timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        summaries = [json.loads(p.read_text()) for p in runs.glob("*/summary.json")]
        if len(summaries) >= count and all(s.get("status") not in ("queued", "running") for s in summaries):
            return
        time.sleep(0.5)


def defaults_case(args) -> None:
    from tl_core.baselines import baseline_for
    from tl_core.config import RunConfig

    build_datasets([RunConfig(), baseline_for(RunConfig())])
    say(f"Experiment page defaults; load average before {load_now()}")
    with bench_runs_dir("tl-defaults-timing-") as folder, dashboard_of(folder) as (url, _):
        text, took, pressed = asyncio.run(measure_defaults(url, args.out, args.timeout))
        wait_for_runs(folder / "runs", 2, args.timeout)
        where = runs_line(folder / "runs", pressed)
    words, promised = promise_in(TRAIN_PROMISE, text)
    say(f"under Train: {text!r}")
    say(f"promised about {words} ({promised:.0f} s) for the whole run and its baseline; "
        f"the with-transfer curve's first point drawn {took:.1f} s after the press "
        f"({'within' if took <= promised else 'OVER'} the promise); load after {load_now()}")
    say(where)
    say(f"screenshots: {args.out / 'defaults-before.png'}, {args.out / 'defaults-first-point.png'}")


def lesson_case(args) -> None:
    configs = stage_configs(LESSON, 0, False, [])
    build_datasets(configs)
    say(f"{LESSON.title}: {len(configs)} runs; source network to pretrain first: "
        f"{'yes' if needs_pretraining(LESSON) else 'no (shipped or cached)'}; load average before {load_now()}")
    load: list[float] = []
    with bench_runs_dir("tl-lesson-timing-") as folder, dashboard_of(folder) as (url, _):
        text, first, took, pressed = asyncio.run(measure(url, args.out, args.timeout, load))
        where = runs_line(folder / "runs", pressed)
    words, promised = promise_in(PROMISE, text)
    say(f"card: {text!r}")
    say(f"promised about {words} ({promised:.0f} s); final verdict visible {took:.1f} s "
        f"after the press ({'within' if took <= promised else 'OVER'} the promise), a first one (fewer seeds) after "
        f"{first:.1f} s; the lesson's own figure: {LESSON.minutes_on_cpu:g} min on an idle 2-core CPU")
    say(where)
    say(f"1-minute load average while it ran: {min(load):.1f} to {max(load):.1f}, mean "
        f"{sum(load) / len(load):.1f} ({len(load)} samples); after {load_now()}")
    say(f"screenshots: {args.out / 'lesson1-card-before.png'}, {args.out / 'lesson1-verdict-after.png'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="lesson,defaults", help="which promises: lesson, defaults or both")
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts", help="folder for the screenshots")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the result")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cases = {"lesson": lesson_case, "defaults": defaults_case}
    for name in args.cases.split(","):
        cases[name](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
