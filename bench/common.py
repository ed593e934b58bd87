"""What the benchmarks share: command-line flags, threads, a throwaway runs folder, clocks, plain tables and
the dashboard server the browser benches drive.

Run a bench from the repository root (`python bench/engine.py`); this module puts the root on `sys.path`.
Absolute times depend on the machine and on what else runs on it, so every bench prints the load average
and both clocks (wall and this process's CPU time); ratios measured side by side in one run are the figures.
"""
from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("TL_OFFLINE", "1")  # benches never touch the network
os.environ.setdefault("TL_DATA_DIR", str(ROOT / "data"))  # the dashboard's dataset cache, from whatever folder


def parse_args(description: str, extra=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer repeats, seeds and epochs")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default). 1 is steadier on a busy machine")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    return args


def machine_line(device: str = "cpu") -> str:
    import torch

    from tl_core.machine.device import device_name, pick_device

    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{device_name(pick_device(device))}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"Python {platform.python_version()}; load average at start {load}")


def load_now() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


@contextmanager
def bench_runs_dir(prefix: str):
    """A temporary runs folder (bench runs never mix with the user's); removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as path:
        yield Path(path)


class Clock:
    """Wall time and this process's CPU time since creation."""

    def __init__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    @property
    def wall_s(self) -> float:
        return time.perf_counter() - self.wall0

    @property
    def cpu_s(self) -> float:
        return time.process_time() - self.cpu0

    def __str__(self) -> str:
        return f"{self.wall_s:.0f} s wall, {self.cpu_s:.0f} s CPU"


def median(values) -> float:
    return float(statistics.median(values))


def pm(mean: float, sd: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def table(headers: list[str], rows: list[list], title: str = "") -> str:
    """A plain-text table (also valid Markdown), columns padded to their widest cell."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    out = [title] if title else []
    out += [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells[1:])]
    return "\n".join(out)


def say(*parts) -> None:
    print(*parts, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dashboard(env: dict[str, str], log_path: Path, flags: tuple[str, ...] = (), script: str = "app.py"):
    """`streamlit run <script>` as a user starts it (`serve.py`: app.py behind the owner-cookie middleware, as the
    README starts it), on a free loopback port, with `env` added to this process's environment (and Streamlit
    `flags`); yields (url, the server's Popen) once it answers, stops it after."""
    port = free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", *flags],
            cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90
            while True:
                with suppress(OSError):
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                        break
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError("streamlit did not start:\n" + log_path.read_text()[-2000:])
                time.sleep(0.3)
            yield url, server
        finally:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
