"""Does watching a run slow it down? The dashboard server trains one small default-like run (small_cnn on
digits, random weights, so nothing to pretrain) while 0, 1 or 4 browser tabs poll a page that watches it, under
each executor; prints each case's epoch time relative to no tab (goal: at least 0.9x as fast, i.e. <= 1.11x
the time) and how far the shown time left was off at 25/50/75 % of the run.

The server is `streamlit run bench/responsiveness_app.py` on a loopback port (the repository's .streamlit
config applies), the tabs are Debian's Chromium via Playwright. Users' browsers run on their own machines, so
here Chromium runs at the lowest CPU priority (nice 19): what is measured is the server's own cost of a tab.
Epoch times are the run's own metrics.jsonl `seconds`; the first epoch (start-up, tabs opening) is left out.

    python bench/responsiveness.py [--epochs 4] [--tabs 0,1,4] [--executors threads,processes] [--post-script-gc]
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT, bench_runs_dir, load_now, machine_line, median, parse_args, say, table

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MARK = re.compile(r"status=(\w+) step=(\d+) total=(\d+) eta=([\d.]*)")
FRACTIONS = (0.25, 0.5, 0.75)
_ENDED = ("finished", "stopped", "failed", "diverged", "out_of_memory", "interrupted")


@dataclass
class Case:
    executor: str
    tabs: int
    epoch_s: float = float("nan")
    run_s: float = float("nan")
    eta_error: dict[float, float] = field(default_factory=dict)  # fraction done -> (shown - actual) / actual


def niced_chromium(folder: Path) -> str:
    wrapper = folder / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n 19 {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs: Path, executor: str, config_json: str, post_script_gc: bool,
                 log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "TL_RUNS_DIR": str(runs), "TL_EXECUTOR": executor, "TL_BENCH_CONFIG": config_json,
           "TL_OFFLINE": "1", "TL_WARM_UMAP": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "bench/responsiveness_app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--runner.postScriptGC", str(post_script_gc).lower()],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"streamlit did not start: see {log.name}")
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def the_run(runs: Path) -> Path | None:
    found = [p for p in runs.iterdir() if (p / "config.json").exists()]
    return found[0] if found else None


def status_of(run: Path) -> str:
    try:
        return json.loads((run / "summary.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return "unknown"


def measure(browser, case: Case, config_json: str, post_script_gc: bool, timeout_s: float) -> Case:
    with bench_runs_dir("tl-bench-tabs-") as runs, open(runs / "streamlit.log", "w") as log:
        proc, url = start_server(runs, case.executor, config_json, post_script_gc, log)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            watchers = [context.new_page() for _ in range(max(0, case.tabs - 1))]
            for page in watchers:
                page.goto(url)
            starter = context.new_page()
            starter.goto(f"{url}/?start=1")
            deadline = time.time() + timeout_s
            while (run := the_run(runs)) is None or status_of(run) not in ("running", *_ENDED):
                assert time.time() < deadline, f"the run did not start: see {log.name}"
                time.sleep(0.2)
            if case.tabs == 0:
                starter.close()  # pressed Train, closed the tab
            samples = []  # (time, fraction done, time left shown)
            while status_of(run) not in _ENDED:
                assert time.time() < deadline, f"the run did not end within {timeout_s} s"
                if case.tabs > 0:
                    found = MARK.search(starter.inner_text("body"))
                    if found and found[4] and int(found[3]):
                        samples.append((time.time(), int(found[2]) / int(found[3]), float(found[4])))
                time.sleep(0.25)
            ended = time.time()
            context.close()
            summary = json.loads((run / "summary.json").read_text())
            assert summary["status"] == "finished", summary
            rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
            case.epoch_s = median(r["seconds"] for r in rows[1:])
            case.run_s = summary["seconds"]
            for fraction in FRACTIONS:
                at = next((s for s in samples if s[1] >= fraction), None)
                if at is not None:
                    case.eta_error[fraction] = (at[2] - (ended - at[0])) / (ended - at[0])
        finally:
            stop_server(proc)
    return case


def main() -> None:
    def flags(parser):
        parser.add_argument("--epochs", type=int, default=4)
        parser.add_argument("--tabs", default="0,1,4", help="comma-separated numbers of watching tabs")
        parser.add_argument("--executors", default="threads,processes")
        parser.add_argument("--post-script-gc", action="store_true",
                            help="Streamlit's gc.collect(2) after every script run, as before .streamlit turned it off")
        parser.add_argument("--timeout", type=float, default=150, help="seconds per case")

    args = parse_args(__doc__.splitlines()[0], flags)
    from playwright.sync_api import sync_playwright

    from tl_core.config import RunConfig

    epochs = 3 if args.quick else args.epochs
    tab_counts = [0, 4] if args.quick else [int(t) for t in args.tabs.split(",")]
    config = RunConfig(source="synth-digits", target="digits", backbone="small_cnn", weights="random",
                       epochs=epochs, device=args.device)
    say(machine_line(args.device))
    say(f"run: {config.backbone} {config.source} -> {config.target}, {epochs} epochs, img {config.img_size}, "
        f"snapshots of {config.snapshot_size}; Streamlit post-script GC {'on' if args.post_script_gc else 'off'}")
    cases = []
    with sync_playwright() as p, bench_runs_dir("tl-bench-chromium-") as folder:
        browser = p.chromium.launch(executable_path=niced_chromium(folder), args=CHROMIUM_ARGS)
        for executor in args.executors.split(","):
            for tabs in tab_counts:
                case = measure(browser, Case(executor, tabs), config.to_json(), args.post_script_gc, args.timeout)
                say(f"  {executor}, {tabs} tabs: {case.epoch_s:.2f} s/epoch (load {load_now()})")
                cases.append(case)
        browser.close()
    alone = {c.executor: c.epoch_s for c in cases if c.tabs == 0}
    eta = lambda c, f: f"{c.eta_error[f]:+.0%}" if f in c.eta_error else "-"  # noqa: E731
    rows = [[c.executor, c.tabs, f"{c.epoch_s:.2f}", f"{alone[c.executor] / c.epoch_s:.2f}x" if c.executor in alone
             else "-", f"{c.run_s:.1f}", *(eta(c, f) for f in FRACTIONS)] for c in cases]
    say(table(["executor", "tabs", "s/epoch", "speed vs 0 tabs", "run s", "ETA err 25%", "50%", "75%"], rows,
              title="\nEpoch time while tabs watch the run (speed >= 0.90x is the goal)"))


if __name__ == "__main__":
    main()
