"""What an executor costs: the same small run through a JobManager on each executor, side by side, timed from
submit to the recorded end (start-up included) and as the run's own seconds; for Ray, against a local cluster
started here with `ray start --head` (the dashboard joins it as it would join a remote one, sending the code).

    python bench/executors.py [--repeats 3] [--executors processes,ray]
"""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

from common import bench_runs_dir, machine_line, median, parse_args, say, table

from tl_core.runs.status import Status


@contextmanager
def local_ray_cluster(cpus: int):
    """A head node on this machine; the environment tells this process (and so the job manager) where it is."""
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ray_cli = str(Path(sys.executable).with_name("ray"))
    subprocess.run([ray_cli, "start", "--head", f"--port={port}", f"--num-cpus={cpus}", "--include-dashboard=false",
                    "--disable-usage-stats"], check=True, capture_output=True, timeout=180)
    os.environ["TL_RAY_ADDRESS"] = f"127.0.0.1:{port}"
    try:
        yield
    finally:
        import ray

        ray.shutdown()
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=180)


def timed_runs(executor: str, config, repeats: int) -> list[tuple[float, float]]:
    """(submit → recorded end, the run's own seconds) for each repeat; the first includes the executor's start."""
    from tl_core.serving.jobs import JobManager

    with bench_runs_dir(f"tl-bench-{executor}-") as runs:
        manager = JobManager(runs, slots=1, executor=executor)
        try:
            times = []
            for seed in range(repeats):
                started = time.perf_counter()
                view = manager.wait(manager.submit(config.replace(seed=seed), owner="bench"), timeout_s=900)
                assert view.status is Status.FINISHED, view.summary
                times.append((time.perf_counter() - started, view.summary["seconds"]))
            return times
        finally:
            manager.close()


def main() -> None:
    def flags(parser):
        parser.add_argument("--repeats", type=int, default=3)
        parser.add_argument("--executors", default="processes,ray")

    args = parse_args(__doc__.splitlines()[0], flags)
    from tl_core.runs.config import RunConfig

    config = RunConfig(weights="random", epochs=2 if args.quick else 3, device=args.device)
    say(machine_line(args.device))
    say(f"run: {config.backbone} {config.source} -> {config.target}, {config.epochs} epochs, "
        f"{config.labels_per_class} labels per class, random weights")
    rows = []
    for executor in args.executors.split(","):
        with local_ray_cluster(os.cpu_count() or 1) if executor == "ray" else nullcontext():
            times = timed_runs(executor, config, args.repeats)
        first, rest = times[0], times[1:] or times
        rows.append([executor, f"{first[0]:.1f}", f"{median(t for t, _ in rest):.1f}",
                     f"{median(s for _, s in rest):.1f}", f"{median(t - s for t, s in rest):.1f}"])
        say(f"  {executor}: {[f'{t:.1f}' for t, _ in times]} s submit → end")
    say(table(["executor", "first run s (start-up)", "later runs s", "run's own s", "overhead s"], rows,
              title="\nThe same run on each executor (median of the runs after the first)"))


if __name__ == "__main__":
    main()
