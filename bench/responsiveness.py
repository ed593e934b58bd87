"""Does watching a run slow it down? The real dashboard (`streamlit run app.py`) trains the Experiment page's
default run, started by pressing Train, while 0, 1 or 4 tabs show it, under each executor; prints each case's
epoch time relative to no tab (goal: at least 0.9x as fast, i.e. <= 1.11x the time) and how far the time left
that the page showed was off at 25/50/75 % of the run (goal: within 25 %).

Two kinds of tab (--tab-kinds):
- `protocol` (bench/protocol_tab.py): what the server sees of a tab — Streamlit's websocket protocol, the
  page's fragments re-run at the intervals the server asks for — with no browser drawing on these cores. This is
  a classroom's case: each student's browser runs on the student's machine.
- `chromium`: Debian's Chromium via Playwright at the lowest CPU priority (nice 19), drawing every chart on the
  same two cores that train: a teacher's laptop that serves and shows.

A Chromium tab opens the Experiment page (through a `?cfg=` share link when --epochs differs from the form's
default: nothing else changes) and presses Train, which queues the run and its baseline; the other tabs open the
run's `?run=` link. With 0 tabs, and with protocol tabs, that first tab is closed once the run is queued. Timed
is the main run (role "main" in its config.json), never its baseline: its metrics.jsonl `seconds` per epoch,
leaving out the first (start-up, tabs opening); the time left is read from the main run's progress text on the
first tab (for a protocol tab, at the moment the text arrived; for Chromium, when it is read: up to a poll late).

The server listens on a loopback port with a throwaway runs folder (the repository's .streamlit config applies).

    python bench/responsiveness.py [--epochs 6] [--tabs 0,1,4] [--tab-kinds protocol,chromium]
                                   [--executors threads,processes] [--post-script-gc]
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import bench_runs_dir, dashboard, load_now, machine_line, median, parse_args, say, table
from protocol_tab import ProtocolTab  # after common, which puts the repository on sys.path

from tl_core.runs.status import Status

CHROMIUM = "/usr/bin/chromium"
# Every tab polls as a foreground tab does (each student looks at their own screen): no background throttling.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-background-timer-throttling",
                 "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"]
SLOW_MS = 120_000  # a page load on a busy 2-core machine
FRACTIONS = (0.25, 0.5, 0.75)
# The progress text in the status box of the main run (tl_ui/live.py keys it; tl_view.views.status_line).
MAIN_PROGRESS = """() => document.querySelector('.st-key-live-status-main [data-testid="stProgress"]')?.innerText ?? null"""


@dataclass
class Case:
    executor: str
    tabs: int
    kind: str = "chromium"
    epoch_s: float = float("nan")
    run_s: float = float("nan")
    load: str = ""
    server_cpu: float = float("nan")  # CPU seconds the dashboard process used per second while the run trained
    browser_cpu: float = float("nan")  # the same for Chromium (here on the server's cores; a student's is not)
    eta_error: dict[float, float | None] = field(default_factory=dict)  # fraction -> (shown - actual) / actual


def shown_seconds(text: str | None) -> float | None:
    """The time left in 'Training — epoch 2 of 6 · about 1 min 05 s left' (tl_view.fmt.seconds' formats)."""
    found = re.search(r"about (.+?) left", text or "")
    if not found:
        return None
    unit = {"h": 3600, "min": 60, "s": 1}
    return float(sum(int(n) * unit[u] for n, u in re.findall(r"(\d+) (h|min|s)\b", found[1])))


def niced_chromium(folder: Path) -> str:
    wrapper = folder / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n 19 {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def main_run(runs: Path) -> Path | None:
    for path in runs.iterdir():
        try:
            if json.loads((path / "config.json").read_text()).get("role") == "main":
                return path
        except (OSError, ValueError):
            continue
    return None


def process_cpu_s(pid: int) -> float:
    """CPU seconds the process itself has used (not its children: the runs' worker processes)."""
    return _cpu_s(Path(f"/proc/{pid}/stat").read_text())


def _cpu_s(stat: str) -> float:
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser_cpu_s() -> float:
    """CPU seconds used so far by the Chromium processes alive now (the browser, its renderers and helpers)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(chromium" in text or "(chrome" in text:
            total += _cpu_s(text)
    return total


def summary_of(run: Path) -> dict:
    try:
        return json.loads((run / "summary.json").read_text())
    except (OSError, ValueError):
        return {}


def press_train(context, url: str):
    page = context.new_page()
    page.goto(url)
    page.get_by_text("What you will see").wait_for(timeout=SLOW_MS)  # the whole form has been drawn
    # and the time Train will take: a fresh server times a few batches first, in a process that would otherwise
    # share the cores with the run's first epochs
    page.get_by_text(re.compile(r"About .+ measured on this server")).wait_for(timeout=SLOW_MS)
    page.get_by_role("button", name="Train", exact=True).click()
    return page


def measure(browser, case: Case, link: str, epochs: int, post_script_gc: bool, timeout_s: float) -> Case:
    with bench_runs_dir("tl-bench-tabs-") as folder:
        runs, log = folder / "runs", folder / "streamlit.log"
        env = {"TL_RUNS_DIR": str(runs), "TL_EXECUTOR": case.executor, "TL_OFFLINE": "1", "TL_WARM_UMAP": "0"}
        with dashboard(env, log, ("--runner.postScriptGC", str(post_script_gc).lower())) as (url, proc):
            context = browser.new_context(viewport={"width": 1500, "height": 1200})
            starter = press_train(context, url + link)
            deadline = time.time() + timeout_s
            while (run := main_run(runs)) is None:
                assert time.time() < deadline, f"Train queued no run: see {log.name}"
                time.sleep(0.2)
            config = json.loads((run / "config.json").read_text())
            assert config["epochs"] == epochs, f"the form ran {config['epochs']} epochs, not {epochs}"
            starter.get_by_text("With transfer — target accuracy").wait_for(timeout=SLOW_MS)  # both runs queued
            protocol_tabs = []
            if case.kind == "protocol":
                starter.close()
                protocol_tabs = [ProtocolTab(url, f"run={run.name}") for _ in range(case.tabs)]
                for tab in protocol_tabs:
                    tab.start()
            elif case.tabs == 0:
                starter.close()
            for _ in range(case.tabs - 1 if case.kind == "chromium" else 0):
                context.new_page().goto(f"{url}/?run={run.name}")
            # (time, progress text of the main run): a protocol tab knows when the text arrived; a browser's text
            # is read now and may be up to a poll old
            progress = (lambda: protocol_tabs[0].progress) if protocol_tabs else (
                lambda: (time.time(), starter.evaluate(MAIN_PROGRESS)))
            samples = []
            cpu_at_start = None
            while not (status := Status.of(summary_of(run).get("status", Status.QUEUED))).terminal:
                assert time.time() < deadline, f"the run did not end within {timeout_s} s: see {log.name}"
                if status is Status.RUNNING and cpu_at_start is None:
                    cpu_at_start = process_cpu_s(proc.pid), browser_cpu_s(), time.time()
                if case.tabs > 0:
                    samples.append(progress())
                time.sleep(0.5)  # the page redraws once a second
            if cpu_at_start is not None:
                wall = time.time() - cpu_at_start[2]
                case.server_cpu = (process_cpu_s(proc.pid) - cpu_at_start[0]) / wall
                if case.kind == "chromium":  # (a closed tab's processes leave the sum meanwhile)
                    case.browser_cpu = (browser_cpu_s() - cpu_at_start[1]) / wall
            for tab in protocol_tabs:
                tab.stop()
            context.close()
            summary = summary_of(run)
            assert summary["status"] == Status.FINISHED, summary
            rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
            case.epoch_s = median(r["seconds"] for r in rows[1:])
            case.run_s = summary["seconds"]
            case.load = load_now()
            if samples:
                case.eta_error = eta_errors(samples, summary["started"], summary["started"] + summary["seconds"])
    return case


def eta_errors(samples, start: float, end: float) -> dict[float, float | None]:
    """(shown - actual) / actual time left, at the sample nearest each fraction of the run (its start to its end,
    from summary.json); None where the page showed no time left then."""
    errors = {}
    for fraction in FRACTIONS:
        at, text = min(samples, key=lambda s: abs(s[0] - (start + fraction * (end - start))))
        shown, actual = shown_seconds(text), end - at
        errors[fraction] = None if shown is None or actual <= 0 else (shown - actual) / actual
    return errors


def main() -> None:
    from tl_core.runs.config import RunConfig
    from tl_view.share_link import encode_config

    def flags(parser):
        parser.add_argument("--epochs", type=int, default=6,
                            help="the run's epochs (the form's default is %d)" % RunConfig().epochs)
        parser.add_argument("--tabs", default="0,1,4", help="comma-separated numbers of tabs showing the run")
        parser.add_argument("--executors", default="threads,processes")
        parser.add_argument("--tab-kinds", default="protocol,chromium",
                            help="protocol: the server's side of a tab, no browser here; chromium: a real browser "
                                 "on these cores")
        parser.add_argument("--post-script-gc", action="store_true",
                            help="Streamlit's gc.collect(2) after every script run, as before .streamlit turned it off")
        parser.add_argument("--timeout", type=float, default=300, help="seconds per case")

    args = parse_args(__doc__.splitlines()[0], flags)
    from playwright.sync_api import sync_playwright

    epochs = RunConfig().epochs if args.quick else args.epochs
    tab_counts = [0, 4] if args.quick else [int(t) for t in args.tabs.split(",")]
    link = "/" if epochs == RunConfig().epochs else f"/?cfg={encode_config(RunConfig(epochs=epochs))}"
    say(machine_line("auto"))
    say("run: the Experiment page's defaults" + ("" if link == "/" else f" with {epochs} epochs (share link {link})")
        + f"; Streamlit post-script GC {'on' if args.post_script_gc else 'off'}")
    cases = []
    with sync_playwright() as p, bench_runs_dir("tl-bench-chromium-") as folder:
        browser = p.chromium.launch(executable_path=niced_chromium(folder), args=CHROMIUM_ARGS)
        for executor in args.executors.split(","):
            for kind, tabs in [("-", 0)] + [(k, t) for k in args.tab_kinds.split(",") for t in tab_counts if t]:
                case = measure(browser, Case(executor, tabs, kind), link, epochs, args.post_script_gc, args.timeout)
                say(f"  {executor}, {tabs} {kind} tabs: {case.epoch_s:.2f} s/epoch, run {case.run_s:.1f} s "
                    f"(load {case.load})")
                cases.append(case)
        browser.close()
    alone = {c.executor: c.epoch_s for c in cases if c.tabs == 0}
    eta = lambda c, f: "-" if f not in c.eta_error else (  # noqa: E731
        "not shown" if c.eta_error[f] is None else f"{c.eta_error[f]:+.0%}")
    rows = [[c.executor, c.kind, c.tabs, f"{c.epoch_s:.2f}", f"{alone[c.executor] / c.epoch_s:.2f}x" if c.executor in alone
             else "-", f"{c.run_s:.1f}", f"{c.server_cpu:.2f}", "-" if c.browser_cpu != c.browser_cpu else f"{c.browser_cpu:.2f}", c.load,
             *(eta(c, f) for f in FRACTIONS)]
            for c in cases]
    say(table(["executor", "tab kind", "tabs", "s/epoch", "speed vs 0 tabs", "run s", "server CPU s/s", "Chromium CPU s/s", "load after",
               "ETA err 25%", "50%", "75%"],
              rows, title="\nEpoch time of the main run while tabs show it (speed >= 0.90x is the goal; "
                          "ETA error: the time left shown vs the actual, goal within 25%)"))


if __name__ == "__main__":
    main()
