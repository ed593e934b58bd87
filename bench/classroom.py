"""A classroom on one server, bounded and on loopback only.

Identical presses, in real browsers (the default). `streamlit run app.py` serves on a free loopback port (a fresh
runs folder, TL_OFFLINE=1, TL_WARM_UMAP=0). Each student is a Chromium context of its own (its own owner cookie)
that opens the Lessons page before anyone presses, as a class opens a lesson together: a tab opened after the
first press finds the lesson running and its button disabled. Each student presses lesson 1's button at a random
moment within the window. `--browsers` of them keep the tab open and time press → verdict visible. The others
close the tab as soon as the server has recorded their runs; their wait is read from the server's records (when
the last of their runs ended or was filled). They come back later to check that the page shows them the verdict.
Meanwhile one more context loads the Runs page again and again, timing each load until Streamlit's script has
finished. Computations are counted from the server's run records: a run filled from an identical one has
`shared_from`. Memory is read from /proc for the server process and its descendants (the training workers).
Chromium runs on this machine too, which a class's browsers would not.

Distinct seeds, NOT through a browser. `--distinct` students' runs with distinct seeds, queued behind one owner's
sweep, go straight into a JobManager in this process (its own runs folder, the server's default executor) to show
the queue's fairness across owners. `--no-browser` submits the identical presses that way too.

    python bench/classroom.py        # 30 presses within 30 s (4 watched in open tabs), then 30 distinct seeds
    python bench/classroom.py --sessions 4 --browsers 2 --window 10 --distinct 4 --sweep 2     # a smoke run
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import statistics
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from common import bench_runs_dir, dashboard, load_now, say

from tl_core import identity
from tl_core.config import RunConfig
from tl_core.jobs import JobManager
from tl_core.lessons import LESSONS, stage_configs
from tl_core.owners import owner_id
from tl_core.records.store import RunStore
from tl_core.status import Status

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LESSON = LESSONS[0]  # the Lessons page's default pick: a tab that opens the page shows its button
PRESS = "Run this lesson"
VERDICT = re.compile(r"Measured over \d+ seeds?|No verdict: these runs did not finish")  # once every seed ended
RENDERED = """(heading) => document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === 'notRunning'
    && [...document.querySelectorAll('h1')].some(h => h.textContent.includes(heading))"""
RUN = RunConfig(source="digits", target="digits-m", backbone="small_cnn", weights="random", strategy="fine-tune",
                freeze=0, labels_per_class=20, epochs=2, batch_size=64, img_size=16, snapshot_size=0, device="cpu",
                experiment="lesson:why-transfer:bench", role="lesson-arm", arm="fine-tune")


# ------------------------------------------------------------------------------------------------ the server

@contextmanager
def dashboard_of(folder: Path):
    """The server for a classroom: its runs in `folder`/runs; yields (url, its pid)."""
    env = {"TL_RUNS_DIR": str(folder / "runs"), "TL_WARM_UMAP": "0", "TL_OFFLINE": "1"}
    with dashboard(env, folder / "streamlit.log") as (url, server):
        yield url, server.pid


def build_datasets(configs: list[RunConfig]) -> None:
    """Build the datasets the runs read (or find them cached), so that no timing includes building them."""
    from tl_core.data import load_domain

    for name, size in {(n, c.img_size) for c in configs for n in (c.source, c.target)}:
        load_domain(name, size)


def rss_mb(pid: int) -> float:
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


def memory(pid: int, who: str = "server") -> str:
    workers = descendants(pid)
    return (f"{who} {rss_mb(pid):.0f} MB + {len(workers)} descendant process(es) "
            f"{sum(map(rss_mb, workers)):.0f} MB")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else float("nan")


# ------------------------------------------------------------------------------------------------ the browsers

async def open_lessons(browser, url: str):
    """A new student (a context with its own owner secret) on the Lessons page; returns (context, page, owner)."""
    secret = secrets.token_urlsafe(32)
    context = await browser.new_context(viewport={"width": 1500, "height": 1600})
    await context.add_cookies([{"name": "tl_owner", "value": secret, "url": url}])
    page = await context.new_page()
    await page.goto(f"{url}/lessons")
    await page.wait_for_function(RENDERED, arg="Lessons", timeout=300_000)
    return context, page, owner_id(secret)


@dataclass
class Student:
    context: object
    page: object
    owner: str
    watch: bool  # keeps the tab open until the verdict shows; else closes it once the runs are recorded
    moment: float  # seconds after the start of the window
    pressed: float | None = None
    saw: float | None = None  # when the verdict was visible (watchers), or the result recorded (the others)


def lesson_rows(store: RunStore) -> list[dict]:
    return store.list(experiment_prefix=identity.lesson_prefix(LESSON.key), limit=100_000, heal=False)


def ready_at(row: dict) -> float:
    """When the run's result existed: its end, or its creation when it was filled at once from a finished run."""
    summary = row["summary"]
    return max(row["created"], (summary.get("started") or 0) + (summary.get("seconds") or 0))


async def until(condition, timeout_s: float, every_s: float = 0.5) -> bool:
    deadline = time.time() + timeout_s
    while not condition():
        if time.time() > deadline:
            return False
        await asyncio.sleep(every_s)
    return True


async def wait_for_verdict(page, timeout_s: float) -> float:
    """Until the page shows the lesson's final verdict: the measured text (shown once every seed has finished),
    then the button enabled again (nothing of the lesson runs any more). Returns when the text first showed."""
    from playwright.async_api import expect

    await page.get_by_text(VERDICT).first.wait_for(timeout=timeout_s * 1000)
    first = time.time()
    await expect(page.get_by_role("button", name=PRESS)).to_be_enabled(timeout=timeout_s * 1000)
    return first


async def press(student: Student, start: float, store: RunStore, timeout_s: float) -> None:
    from playwright.async_api import TimeoutError as PageTimeout

    await asyncio.sleep(max(0.0, start + student.moment - time.time()))
    student.pressed = time.time()
    await student.page.get_by_role("button", name=PRESS).click()
    if student.watch:
        with suppress(PageTimeout, AssertionError):
            await wait_for_verdict(student.page, timeout_s)
            student.saw = time.time()
    elif await until(lambda: any(r["owner"] == student.owner for r in lesson_rows(store)), 120):
        await student.page.close()


async def probe_pages(browser, url: str, stop: asyncio.Event) -> tuple[list[float], int]:
    """Load the Runs page in a browser until `stop`, timing each load until its script has finished."""
    context = await browser.new_context(viewport={"width": 1500, "height": 1600})
    page = await context.new_page()
    times, failures = [], 0
    while not stop.is_set():
        started = time.perf_counter()
        try:
            await page.goto(f"{url}/runs")
            await page.wait_for_function(RENDERED, arg="Runs", timeout=60_000)
            times.append(time.perf_counter() - started)
        except Exception:  # a timeout or a navigation cut short: the page did not render
            failures += 1
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    await context.close()
    return times, failures


async def come_back(student: Student, url: str) -> bool:
    """The student who pressed and left opens the Lessons page again: does it show the verdict?"""
    from playwright.async_api import TimeoutError as PageTimeout

    page = await student.context.new_page()
    await page.goto(f"{url}/lessons")
    try:
        await wait_for_verdict(page, 120)
        return True
    except (PageTimeout, AssertionError):
        return False
    finally:
        await page.close()


async def browser_presses(url: str, runs: Path, pid: int, args) -> None:
    from playwright.async_api import async_playwright

    per_press = len(stage_configs(LESSON, 0, False, []))
    rng = random.Random(0)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        students = []
        for i in range(args.sessions):
            context, page, owner = await open_lessons(browser, url)
            students.append(Student(context, page, owner, watch=i < args.browsers, moment=rng.uniform(0, args.window)))
        say(f"{args.sessions} Lessons tabs open (load {load_now()}); before the first press: {memory(pid)}")
        store = RunStore(runs)

        def all_ended() -> bool:
            rows = lesson_rows(store)
            return len(rows) >= per_press * args.sessions and all(Status.of(r["status"]).terminal for r in rows)

        stop = asyncio.Event()
        start = time.time()
        prober = asyncio.create_task(probe_pages(browser, url, stop))
        await asyncio.gather(*(press(s, start, store, args.timeout) for s in students))
        ended = await until(all_ended, args.timeout)
        stop.set()
        page_times, page_failures = await prober
        after = memory(pid)
        back = [await come_back(s, url) for s in students if not s.watch]
        await browser.close()

    rows = lesson_rows(store)
    for s in students:
        mine = [r for r in rows if r["owner"] == s.owner]
        if not s.watch and mine and all(Status.of(r["status"]).terminal for r in mine):
            s.saw = max(map(ready_at, mine))
    computed = [r for r in rows if "shared_from" not in r["summary"]]
    first_press = min(s.pressed for s in students)
    say(f"identical presses, real browsers: {args.sessions} students pressed {PRESS!r} of {LESSON.title!r} "
        f"({per_press} runs) between +{first_press - start:.1f} s and +{max(s.pressed for s in students) - start:.1f}"
        f" s of a {args.window:g}-s window{'' if ended else f'; NOT every run ended within {args.timeout:g} s'}")
    say(f"  server records: {len(rows)} runs, {len(computed)} computed and {len(rows) - len(computed)} filled from "
        f"an identical run; {len({r['summary'].get('fingerprint') for r in rows})} distinct runs "
        f"(goal: one computation each)")
    lesson_s = (max(map(ready_at, computed)) - min(r["summary"].get("started") or r["created"] for r in computed)
                if computed else float("nan"))
    for watch, how in ((True, "press → verdict visible, tab kept open"),
                       (False, "press → result recorded, tab closed (server records)")):
        waits = [f"{s.saw - s.pressed:.1f}" if s.saw else "never" for s in students if s.watch is watch]
        if waits:
            say(f"  {how}: {', '.join(waits)} s")
    if back:
        say(f"  came back later and saw the verdict: {sum(back)} of {len(back)}")
    seen = [s.saw for s in students]
    if all(seen):
        until_all = max(seen) - first_press
        say(f"  every session had its result {until_all:.1f} s after the first press; the lesson's computations "
            f"took {lesson_s:.1f} s (first run started → last ended): goal ≤ {lesson_s + 10:.1f} s "
            f"({'met' if until_all <= lesson_s + 10 else 'NOT met'})")
    say(f"  page response while training (the Runs page loaded in Chromium until its script finished, "
        f"{len(page_times)} loads, {page_failures} failed): p50 {percentile(page_times, 50):.2f} s, "
        f"p95 {percentile(page_times, 95):.2f} s (goal p95 < 2 s)")
    say(f"  memory after: {after}")


# ------------------------------------------------------------------------------------------------ direct submissions

def direct_presses(manager: JobManager, configs: list[tuple[str, RunConfig]], window_s: float, seed: int) -> dict:
    """Submit each (owner, config) at a random moment within `window_s`; wait until every one sees its result."""
    rng = random.Random(seed)
    moments = sorted(rng.uniform(0, window_s) for _ in configs)
    start, ids, seen = time.time(), [], {}
    before = manager.computations
    for moment, (owner, config) in zip(moments, configs):
        time.sleep(max(0.0, start + moment - time.time()))
        ids.append((owner, manager.submit(config, owner=owner), time.time()))
    started_order = []
    while len(seen) < len(ids):
        for owner, run_id, submitted in ids:
            view = manager.view(run_id)
            if run_id not in seen and view.status.terminal:
                seen[run_id] = time.time() - submitted
            job = manager.job(run_id)
            if job is not None and job.started_at and run_id not in started_order and job.leader is None:
                started_order.append(run_id)
        time.sleep(0.1)
    owners_of = {run_id: owner for owner, run_id, _ in ids}
    return {"until_all_s": time.time() - start, "slowest_s": max(seen.values()),
            "computations": manager.computations - before,
            "start_order_owners": [owners_of[r] for r in started_order]}


def direct_phase(runs: Path, args) -> None:
    manager = JobManager(runs, slots=1)
    manager.wait(manager.submit(RUN.replace(seed=999), owner="warm-up"), 600)  # datasets, worker import
    before = memory(os.getpid(), "this process")
    students = [owner_id(f"student-{i}") for i in range(max(args.sessions, args.distinct))]
    if args.no_browser:
        same = direct_presses(manager, [(s, RUN) for s in students[:args.sessions]], args.window, 0)
        say(f"identical presses, direct submissions (no browser): {args.sessions} within {args.window:g} s → "
            f"{same['computations']} computation(s); every session saw its result after {same['until_all_s']:.1f} s "
            f"(slowest wait {same['slowest_s']:.1f} s)")
    if args.distinct:
        sweeper = owner_id("sweeper")
        sweep = [(sweeper, RUN.replace(seed=100 + i, epochs=1)) for i in range(args.sweep)]
        distinct = [(s, RUN.replace(seed=i, epochs=1)) for i, s in enumerate(students[:args.distinct])]
        result = direct_presses(manager, sweep + distinct, 0.0, 1)
        order = result["start_order_owners"]
        first_of = {o: order.index(o) + 1 for o in dict.fromkeys(order)}
        sweeper_runs = [i + 1 for i, o in enumerate(order) if o == sweeper]
        say(f"distinct seeds, direct submissions (no browser): {args.distinct} students + one owner's sweep of "
            f"{args.sweep} queued first → {result['computations']} computations; all results after "
            f"{result['until_all_s']:.1f} s")
        say(f"  fairness: the sweeper's runs started at positions {sweeper_runs}; every student's first run "
            f"started by position {max(v for o, v in first_of.items() if o != sweeper)} "
            f"(FIFO would start them after position {args.sweep})")
    say(f"  memory (the JobManager runs in this process): {before} → {memory(os.getpid(), 'this process')}")
    manager.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="students pressing the same lesson button")
    parser.add_argument("--browsers", type=int, default=4, help="of them, how many keep their tab open and watch")
    parser.add_argument("--window", type=float, default=30.0, help="seconds over which they press")
    parser.add_argument("--distinct", type=int, default=30, help="sessions with distinct seeds (0: skip)")
    parser.add_argument("--sweep", type=int, default=6, help="extra runs of one owner queued first with them")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for every result")
    parser.add_argument("--no-browser", action="store_true",
                        help="identical presses as direct JobManager submissions (a machine without Chromium)")
    args = parser.parse_args()
    say(f"load average at start {load_now()}")
    with bench_runs_dir("tl-classroom-") as folder:
        if not args.no_browser:
            build_datasets(stage_configs(LESSON, 0, False, []))
            with dashboard_of(folder) as (url, pid):
                asyncio.run(browser_presses(url, folder / "runs", pid, args))
        if args.no_browser or args.distinct:
            direct_phase(folder / "direct-runs", args)
    say(f"load average at the end {load_now()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
