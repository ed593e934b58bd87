"""A classroom on one server, bounded and on loopback only.

Honest about what it simulates: the 30 "sessions" are direct JobManager submissions with 30 distinct owner ids
(no browser is driven here; tests/test_browser_owners.py drives real Chromium contexts), into a manager using
the server's default executor (worker processes). A real `streamlit run app.py` on a loopback port is polled
with HTTP GETs while the runs train, for the page response time.

    python bench/classroom.py                      # 30 identical presses within 30 s, then 30 distinct seeds
    python bench/classroom.py --sessions 8 --window 5 --distinct 8    # smaller
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tl_core.config import RunConfig  # noqa: E402
from tl_core.jobs import JobManager  # noqa: E402
from tl_core.owners import owner_id  # noqa: E402

LESSON = RunConfig(source="digits", target="digits-m", backbone="small_cnn", weights="random", strategy="fine-tune",
                   freeze=0, labels_per_class=20, epochs=2, batch_size=64, img_size=16, snapshot_size=0, device="cpu",
                   experiment="lesson:why-transfer:bench", role="lesson-arm", arm="fine-tune")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Poller:
    """GETs a page every `interval_s` and keeps the response times."""

    def __init__(self, url: str, interval_s: float = 0.5):
        self.url, self.interval_s, self.times, self.failures = url, interval_s, [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                urllib.request.urlopen(self.url, timeout=10).read()
                self.times.append(time.perf_counter() - started)
            except OSError:
                self.failures += 1
            self._stop.wait(self.interval_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else float("nan")


def press(manager: JobManager, configs: list[tuple[str, RunConfig]], window_s: float, seed: int) -> dict:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="identical presses")
    parser.add_argument("--window", type=float, default=30.0, help="seconds over which they press")
    parser.add_argument("--distinct", type=int, default=30, help="sessions with distinct seeds (0: skip)")
    parser.add_argument("--sweep", type=int, default=6, help="extra runs of one owner queued first in phase 2")
    args = parser.parse_args()
    os.environ.setdefault("TL_DATA_DIR", str(ROOT / "data"))
    runs = Path(tempfile.mkdtemp(prefix="tl-classroom-"))
    port = free_port()
    env = {**os.environ, "TL_RUNS_DIR": str(runs), "TL_WARM_UMAP": "0", "TL_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        manager = JobManager(runs, slots=1)
        manager.wait(manager.submit(LESSON.replace(seed=999), owner="warm-up"), 600)  # datasets, worker import
        memory = {"server_before_mb": rss_mb(server.pid), "manager_before_mb": rss_mb(os.getpid())}
        students = [owner_id(f"student-{i}") for i in range(max(args.sessions, args.distinct))]
        with Poller(f"{url}/") as page:
            same = press(manager, [(s, LESSON) for s in students[:args.sessions]], args.window, 0)
            print(f"identical presses: {args.sessions} sessions within {args.window:g} s → "
                  f"{same['computations']} computation(s); every session saw its result after "
                  f"{same['until_all_s']:.1f} s (slowest wait {same['slowest_s']:.1f} s)")
            if args.distinct:
                sweeper = owner_id("sweeper")
                sweep = [(sweeper, LESSON.replace(seed=100 + i, epochs=1)) for i in range(args.sweep)]
                distinct = [(s, LESSON.replace(seed=i, epochs=1)) for i, s in enumerate(students[:args.distinct])]
                result = press(manager, sweep + distinct, 0.0, 1)
                order = result["start_order_owners"]
                first_of = {o: order.index(o) + 1 for o in dict.fromkeys(order)}
                sweeper_runs = [i + 1 for i, o in enumerate(order) if o == sweeper]
                print(f"distinct seeds: {args.distinct} sessions + one owner's sweep of {args.sweep} queued first → "
                      f"{result['computations']} computations; all results after {result['until_all_s']:.1f} s")
                print(f"  fairness: the sweeper's runs started at positions {sweeper_runs}; every student's first "
                      f"run started by position {max(v for o, v in first_of.items() if o != sweeper)} "
                      f"(FIFO would start them after position {args.sweep})")
        print(f"page response while training (GET /, {len(page.times)} requests, {page.failures} failed): "
              f"p50 {percentile(page.times, 50):.3f} s, p95 {percentile(page.times, 95):.3f} s (goal p95 < 2 s)")
        print(f"memory: streamlit server {memory['server_before_mb']:.0f} → {rss_mb(server.pid):.0f} MB; "
              f"job manager process {memory['manager_before_mb']:.0f} → {rss_mb(os.getpid()):.0f} MB")
        manager.close()
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
