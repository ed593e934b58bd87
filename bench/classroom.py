"""A classroom on one server, bounded and on loopback only.

Identical presses. `serve.py` (app.py behind the middleware that sets each browser's owner cookie, as the README
starts it) serves on a free loopback port (a fresh runs folder, TL_OFFLINE=1, TL_WARM_UMAP=0). Each student has
an owner cookie of its own. `--students` of them are protocol tabs (bench/protocol_tab.py: Streamlit's websocket
protocol as a browser's client speaks it, drawing nothing here — each student's browser runs on their own
machine), and `--browsers` more are Chromium contexts (their drawing shares this machine's cores). All open the
Lessons page before anyone presses, as a class opens a lesson together, and press lesson 1's button at a random
moment within the window; each keeps its tab open and times press → verdict visible (a badge: met, not met,
undecided; or "no verdict" if runs failed), against the lesson's own time: the card's promise read before the
first press, and its computations measured from the server's records (first run started → last ended), + 10 s.
Meanwhile one more protocol student, in a process of its own (a machine of its own), loads the Runs page again and
again, timing each load from the request to the end of its script run (the server's side of a page load).
Computations are counted from the server's run records: a run filled from an identical one has `shared_from`. Memory is read from /proc for the server process
and its descendants (the training workers).

Distinct seeds, NOT through a browser. `--distinct` students' runs with distinct seeds, queued behind one owner's
sweep, go straight into a JobManager in this process (its own runs folder, the server's default executor) to show
the queue's fairness across owners. `--no-browser` submits the identical presses that way too.

    python bench/classroom.py        # 30 protocol students + 2 Chromium within 30 s
    python bench/classroom.py --students 4 --browsers 1 --window 10     # a smoke run
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import statistics
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from common import bench_runs_dir, dashboard, load_now, say, table
from protocol_tab import ProtocolTab  # after common, which puts the repository on sys.path

from tl_core.lessons import LESSONS, stage_configs
from tl_core.records.store import RunStore
from tl_core.runs import identity
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status
from tl_core.serving.jobs import JobManager
from tl_core.serving.owners import owner_id
from tl_ui.owner_cookie import is_secret, new_secret
from tl_view.lesson_views import VERDICT_MARKS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-background-timer-throttling",
                 "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"]
LESSON = LESSONS[0]  # the Lessons page's default pick: a tab that opens the page shows its button
PRESS = "Run this lesson"
FAILED = "No verdict: these runs did not finish"
# The verdict as drawn: a badge (✓ met, ✗ not met, ? undecided) before "… Measured over n seeds."
VERDICT = re.compile(r"Measured over \d+ seeds?|" + FAILED)
PROMISE = re.compile(r"Takes about ((?:\d+ h )?\d+ (?:min|s))")
GRACE_S = 60  # how long a student may wait for the verdict after the lesson's last run has ended
RENDERED = """(heading) => document.querySelector('[data-testid="stApp"]')?.dataset.testScriptState === 'notRunning'
    && [...document.querySelectorAll('h1')].some(h => h.textContent.includes(heading))"""
RUN = RunConfig(source="digits", target="digits-m", backbone="small_cnn", weights="random", strategy="fine-tune",
                freeze=0, labels_per_class=20, epochs=2, batch_size=64, img_size=16, snapshot_size=0, device="cpu",
                experiment="lesson:why-transfer:bench", role="lesson-arm", arm="fine-tune")


# ------------------------------------------------------------------------------------------------ the server

@contextmanager
def dashboard_of(folder: Path):
    """The server for a classroom, started as the README says (serve.py); its runs in `folder`/runs; yields
    (url, its pid)."""
    env = {"TL_RUNS_DIR": str(folder / "runs"), "TL_WARM_UMAP": "0", "TL_OFFLINE": "1"}
    with dashboard(env, folder / "streamlit.log", script="serve.py") as (url, server):
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
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) >= 2 else float("nan")


def promise_s(text: str) -> float:
    """Seconds in the card's 'Takes about 3 min' / '40 s' / '1 h 10 min' (tl_view.views.rough's words)."""
    unit = {"h": 3600, "min": 60, "s": 1}
    return float(sum(int(n) * unit[u] for n, u in re.findall(r"(\d+) (h|min|s)\b", text)))


# ------------------------------------------------------------------------------------------------ the students

@dataclass
class Student:
    kind: str  # "protocol" or "chromium"
    secret: str  # its owner cookie
    moment: float  # seconds after the start of the window
    tab: ProtocolTab | None = None
    page: object = None  # a Chromium page
    pressed: float | None = None
    saw: float | None = None  # when the verdict was first visible
    outcome: str = "never"  # which verdict it saw, or why it never pressed

    @property
    def owner(self) -> str:
        return owner_id(self.secret)


def lesson_rows(store: RunStore) -> list[dict]:
    return store.list(experiment_prefix=identity.lesson_prefix(LESSON.key), limit=100_000, heal=False)


def ready_at(row: dict) -> float:
    """When the run's result existed: its end, or its creation when it was filled at once from a finished run."""
    summary = row["summary"]
    return max(row["created"], (summary.get("started") or 0) + (summary.get("seconds") or 0))


async def until(condition, timeout_s: float, every_s: float = 0.2) -> bool:
    deadline = time.time() + timeout_s
    while not condition():
        if time.time() > deadline:
            return False
        await asyncio.sleep(every_s)
    return True


def tab_verdict(tab: ProtocolTab, after: float) -> tuple[float, str] | None:
    """(when it arrived, which) for the first verdict text the tab received after `after`, else None."""
    seen = [(at, next((o for o, mark in VERDICT_MARKS.items() if mark in body), "no verdict"))
            for body, at in list(tab.texts.items())
            if at >= after and (any(mark in body for mark in VERDICT_MARKS.values()) or FAILED in body)]
    return min(seen) if seen else None


async def open_protocol(student: Student, url: str, timeout_s: float) -> None:
    student.tab = ProtocolTab(url, secret=student.secret, page="lessons")
    student.tab.start()
    if not await until(lambda: PRESS in student.tab.buttons, timeout_s):
        raise RuntimeError(f"a protocol tab did not draw the {PRESS!r} button within {timeout_s:g} s")


async def open_chromium(student: Student, browser, url: str) -> None:
    context = await browser.new_context(viewport={"width": 1500, "height": 1600})
    await context.add_cookies([{"name": "tl_owner", "value": student.secret, "url": url}])
    student.page = await context.new_page()
    await student.page.goto(f"{url}/lessons")
    await student.page.wait_for_function(RENDERED, arg="Lessons", timeout=300_000)


async def the_promise(url: str, timeout_s: float) -> str:
    """The card's promise, as a student reads it before pressing: a fresh server times a few batches first, so
    the tab reloads until the card says how long the lesson takes."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        tab = ProtocolTab(url, secret=new_secret(), page="lessons")
        tab.start()
        await until(lambda: tab.script_runs > 0, 60)
        found = next((m[1] for body in tab.texts if (m := PROMISE.search(body))), None)
        tab.stop()
        if found:
            return found
        await asyncio.sleep(3)
    return ""


async def press(student: Student, start: float, timeout_s: float) -> None:
    from playwright.async_api import TimeoutError as PageTimeout
    from playwright.async_api import expect

    await asyncio.sleep(max(0.0, start + student.moment - time.time()))
    student.pressed = time.time()
    if student.tab is not None:
        if not student.tab.press(PRESS):
            student.outcome = "button disabled"
            return
        if await until(lambda: tab_verdict(student.tab, student.pressed) is not None, timeout_s, 0.1):
            student.saw, student.outcome = tab_verdict(student.tab, student.pressed)
        return
    page = student.page
    try:
        await page.get_by_role("button", name=PRESS).click(timeout=60_000)
    except PageTimeout:
        student.outcome = "button disabled"
        return
    with suppress(PageTimeout, AssertionError):
        await page.get_by_text(VERDICT).first.wait_for(timeout=timeout_s * 1000)
        student.saw = time.time()
        text = await page.get_by_text(VERDICT).first.inner_text()
        student.outcome = next((o for o in ("not met", "undecided", "met") if o in text), "no verdict")
        await expect(page.get_by_role("button", name=PRESS)).to_be_enabled(timeout=60_000)


async def probe_runs_page(url: str, stop: asyncio.Event, loads: list[float], failures: list[str],
                          when: list[float]) -> None:
    """Load the Runs page as a protocol tab until `stop`, each time a new connection (a page load), timing it
    from the request to the end of its script run (`when`: its start, seconds since the first press could come);
    one second between loads."""
    secret = new_secret()
    while not stop.is_set():
        tab = ProtocolTab(url, secret=secret, page="runs")
        started = time.perf_counter()
        tab.start()
        if await until(lambda: tab.script_runs > 0, 60, 0.02):
            loads.append(time.perf_counter() - started)
            when.append(time.time())
        else:
            failures.append("no script_finished within 60 s")
        tab.stop()
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def probe_apart(url: str, stop: "multiprocessing.synchronize.Event", results) -> None:
    """`probe_runs_page` in a process of its own, as the student who loads the Runs page sits at a machine of
    their own: its timings do not wait on this process's 30 other tabs. Sends (loads, failures, when) back."""
    loads, failures, when = [], [], []

    async def probe() -> None:
        stopped = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.2)
            stopped.set()

        watcher = asyncio.create_task(watch())
        await probe_runs_page(url, stopped, loads, failures, when)
        await watcher

    asyncio.run(probe())
    results.send((loads, failures, when))


async def classroom(url: str, runs: Path, pid: int, args) -> dict:
    from playwright.async_api import async_playwright

    rng = random.Random(0)
    students = [Student("protocol" if i < args.students else "chromium", new_secret(), rng.uniform(0, args.window))
                for i in range(args.students + args.browsers)]
    assert all(is_secret(s.secret) for s in students) and len({s.owner for s in students}) == len(students)
    loads_seen = [os.getloadavg()[0]]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS) \
            if args.browsers else None
        promise = await the_promise(url, 300)
        for s in students:
            await (open_protocol(s, url, 300) if s.kind == "protocol" else open_chromium(s, browser, url))
        say(f"{args.students} protocol + {args.browsers} Chromium students on the Lessons page (load {load_now()}); "
            f"the card promises {promise or 'nothing (no estimate yet)'}; before the first press: {memory(pid)}")
        store = RunStore(runs)
        stop = asyncio.Event()
        start = time.time()
        spawn = multiprocessing.get_context("spawn")
        probe_stop, (results, sent) = spawn.Event(), spawn.Pipe(duplex=False)
        prober = spawn.Process(target=probe_apart, args=(url, probe_stop, sent), daemon=True)
        prober.start()

        async def sample_load():
            while not stop.is_set():
                loads_seen.append(os.getloadavg()[0])
                with suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), 5.0)

        sampler = asyncio.create_task(sample_load())

        def all_ended() -> bool:
            rows = lesson_rows(store)
            return bool(rows) and all(Status.of(r["status"]).terminal for r in rows)

        presses = [asyncio.create_task(press(s, start, args.timeout)) for s in students]
        ended_at = None
        while not all(p.done() for p in presses):  # bounded: a student still waiting GRACE_S after the last run
            await asyncio.sleep(1.0)              # ended never saw the verdict
            if time.time() > start + args.window + 5 and ended_at is None and all_ended():
                ended_at = time.time()
            if ended_at is not None and time.time() > ended_at + GRACE_S:
                for p in presses:
                    p.cancel()
                break
        await asyncio.gather(*presses, return_exceptions=True)
        pressed = [s for s in students if s.outcome != "button disabled"]
        ended = await until(all_ended, 120)
        stop.set()
        probe_stop.set()
        page_loads, page_failures, page_when = await asyncio.to_thread(results.recv)
        prober.join()
        await sampler
        after = memory(pid)
        for s in students:
            if s.tab is not None:
                s.tab.stop()
        if browser is not None:
            await browser.close()
    rows = lesson_rows(store)
    return {"students": students, "pressed": pressed, "rows": rows, "ended": ended, "start": start,
            "promise": promise, "page_loads": page_loads, "page_failures": page_failures,
            "page_during_presses": [t for t, w in zip(page_loads, page_when) if w - start <= args.window + 10],
            "page_slowest": sorted(((t, w - start) for t, w in zip(page_loads, page_when)), reverse=True)[:6],
            "ended_after": max((r["summary"]["started"] + r["summary"]["seconds"] for r in lesson_rows(store)
                                if r["summary"].get("started") and r["summary"].get("seconds") is not None),
                               default=start) - start,
            "after": after,
            "peak_load": max(loads_seen)}


def report(result: dict, args) -> None:
    students, rows = result["students"], result["rows"]
    per_press = len(stage_configs(LESSON, 0, False, []))
    computed = [r for r in rows if "shared_from" not in r["summary"]]
    owners = {r["owner"] for r in rows}
    lesson_s = (max(map(ready_at, computed)) - min(r["summary"].get("started") or r["created"] for r in computed)
                if computed else float("nan"))
    promise = promise_s(result["promise"]) if result["promise"] else float("nan")
    goal = lesson_s + 10
    pressed = [s.pressed for s in students if s.pressed]
    say(f"\nidentical presses: {len(students)} students ({args.students} protocol, {args.browsers} Chromium) pressed "
        f"{PRESS!r} of {LESSON.title!r} ({per_press} runs each) within a {args.window:g}-s window, between "
        f"+{min(pressed) - result['start']:.1f} s and +{max(pressed) - result['start']:.1f} s"
        + ("" if result["ended"] else "; NOT every run ended"))
    rows_out = []
    for kind in ("protocol", "chromium"):
        mine = [s for s in students if s.kind == kind]
        waits = [s.saw - s.pressed for s in mine if s.saw]
        if not mine:
            continue
        outcomes = {o: sum(s.outcome == o for s in mine) for o in dict.fromkeys(s.outcome for s in mine)}
        rows_out.append([kind, len(mine), len(waits), f"{percentile(waits, 50):.1f}" if waits else "-",
                         f"{percentile(waits, 95):.1f}" if waits else "-", f"{max(waits):.1f}" if waits else "-",
                         ", ".join(f"{o} ×{n}" for o, n in outcomes.items())])
    say(table(["students", "n", "saw a verdict", "press → verdict p50 s", "p95 s", "max s", "what they saw"],
              rows_out, title=f"Press → verdict visible (goal: within the lesson's own time {lesson_s:.1f} s + 10 s "
                              f"= {goal:.1f} s; the card promised {result['promise'] or '-'})"))
    waits = [s.saw - s.pressed for s in students if s.saw]
    loads, pressing = result["page_loads"], result["page_during_presses"]
    say(table(["case", "figure"], [
        ["runs recorded", f"{len(rows)} from {len(owners)} owners ({per_press} per student)"],
        ["computed / filled from an identical run", f"{len(computed)} / {len(rows) - len(computed)}"],
        ["distinct runs (fingerprints)", len({r['summary'].get('fingerprint') for r in rows})],
        ["lesson's computations (first start → last end)", f"{lesson_s:.1f} s"],
        ["Runs page loads while training (protocol: request → script finished)",
         f"{len(loads)} loads, {len(result['page_failures'])} failed; p50 {percentile(loads, 50):.2f} s, "
         f"p95 {percentile(loads, 95):.2f} s (goal p95 < 1 s)"],
        ["… of them while the students press (window + 10 s)",
         f"{len(pressing)} loads, p50 {percentile(pressing, 50):.2f} s, max {max(pressing, default=0):.2f} s"],
        ["the slowest loads (seconds, at seconds after the window opened)",
         ", ".join(f"{t:.2f} at {w:.0f}" for t, w in result["page_slowest"])
         + f"; the lesson's last run ended at {result['ended_after']:.0f}"],
        ["memory after", result["after"]],
    ], title="\nThe server's side"))
    say(f"RESULT case=press_to_verdict students={len(students)} protocol={args.students} chromium={args.browsers} "
        f"saw={len(waits)} p50_s={percentile(waits, 50):.1f} p95_s={percentile(waits, 95):.1f} "
        f"max_s={max(waits, default=float('nan')):.1f} lesson_s={lesson_s:.1f} promise_s={promise:.0f} "
        f"goal_s={goal:.1f} met={'yes' if len(waits) == len(students) and max(waits) <= goal else 'no'}")
    say(f"RESULT case=runs_page p50_s={percentile(loads, 50):.2f} p95_s={percentile(loads, 95):.2f} "
        f"loads={len(loads)} failed={len(result['page_failures'])} goal_p95_s=1 "
        f"met={'yes' if percentile(loads, 95) < 1 else 'no'}")
    say(f"RESULT case=computations runs={len(rows)} distinct={len({r['summary'].get('fingerprint') for r in rows})} "
        f"computed={len(computed)} shared={sum('shared_from' in r['summary'] for r in rows)}")


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
    students = [owner_id(f"student-{i}") for i in range(max(args.students, args.distinct))]
    if args.no_browser:
        same = direct_presses(manager, [(s, RUN) for s in students[:args.students]], args.window, 0)
        say(f"identical presses, direct submissions (no browser): {args.students} within {args.window:g} s → "
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
    parser.add_argument("--students", type=int, default=30, help="students as protocol tabs (no browser here)")
    parser.add_argument("--browsers", type=int, default=2, help="more students as Chromium contexts")
    parser.add_argument("--window", type=float, default=30.0, help="seconds over which they press")
    parser.add_argument("--distinct", type=int, default=0, help="sessions with distinct seeds, direct (0: skip)")
    parser.add_argument("--sweep", type=int, default=6, help="extra runs of one owner queued first with them")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds each student waits for the verdict")
    parser.add_argument("--no-browser", action="store_true",
                        help="identical presses as direct JobManager submissions, no server")
    args = parser.parse_args()
    load_start = load_now()
    say(f"load average at start {load_start}")
    peak = None
    with bench_runs_dir("tl-classroom-") as folder:
        if not args.no_browser:
            build_datasets(stage_configs(LESSON, 0, False, []))
            with dashboard_of(folder) as (url, pid):
                result = asyncio.run(classroom(url, folder / "runs", pid, args))
            report(result, args)
            peak = result["peak_load"]
        if args.no_browser or args.distinct:
            direct_phase(folder / "direct-runs", args)
    say(f"load average at the end {load_now()}")
    say(f"RESULT load_avg={load_now().replace(' ', ',')} start={load_start.replace(' ', ',')}"
        + ("" if peak is None else f" peak_1min={peak:.1f}") + f" cpus={os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
