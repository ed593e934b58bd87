"""Runs execute in long-lived worker processes, one per slot, so training never shares the server's GIL and a
crash or an OOM kill takes one run with it, not the server.

Workers are started with "spawn" (CUDA cannot fork, and the server has threads). The slot's thread in the
server sends a run id, then applies the events the worker sends back until the run ends or the worker dies.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import types
from contextlib import contextmanager
from multiprocessing.connection import wait

from tl_core.serving.executors.base import RunLost, StopSignal
from tl_core.serving.executors.worker import Done, serve
from tl_core.train.events import Subscriber

POLL_S = 0.1  # how often the slot looks at the run's stop flag while it waits for events
_spawn = multiprocessing.get_context("spawn")


def torch_threads(slots: int) -> int:
    """`$TL_TORCH_THREADS`, else the cores shared out between the slots."""
    configured = os.environ.get("TL_TORCH_THREADS")
    return max(1, int(configured) if configured else (os.cpu_count() or 1) // slots)


class StopFlag:
    """A stop flag in shared memory. Unlike multiprocessing.Event it takes no lock, so a worker killed while
    reading it cannot leave the server waiting on that lock forever."""

    def __init__(self):
        self._value = _spawn.RawValue("b", 0)

    def is_set(self) -> bool:
        return bool(self._value.value)

    def set(self) -> None:
        self._value.value = 1

    def clear(self) -> None:
        self._value.value = 0


def death_cause(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"signal {-exitcode}, {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


_main_swap = threading.Lock()


@contextmanager
def no_main_script():
    """Spawn re-runs the parent's `__main__` script in the child unless it is a module. Inside Streamlit that is
    the page script being run (and under AppTest a generated one): a worker must import tl_core, never execute a
    page. So while the worker starts, `__main__` is an empty module."""
    with _main_swap:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class ProcessSlot:
    def __init__(self, runs_dir: str, threads: int):
        self.runs_dir, self.threads = runs_dir, threads
        self._process = None
        self.start()

    def start(self) -> int:
        if self._process is None or not self._process.is_alive():
            self._conn, child_conn = _spawn.Pipe()
            self._stop = StopFlag()
            self._process = _spawn.Process(target=serve, args=(child_conn, self.runs_dir, self._stop, self.threads),
                                           name="tl-run-worker", daemon=True)
            with no_main_script():
                self._process.start()
            child_conn.close()
        return self._process.pid

    def run(self, run_id: str, on_event: Subscriber, stop: StopSignal) -> None:
        self.start()
        self._stop.clear()
        try:
            self._conn.send(run_id)
        except OSError:
            raise self._lost() from None
        while True:
            if stop.is_set():
                self._stop.set()
            ready = wait([self._conn, self._process.sentinel], timeout=POLL_S)
            if self._conn in ready:
                try:
                    message = self._conn.recv()
                except (EOFError, OSError):
                    raise self._lost() from None
                if isinstance(message, Done):
                    if message.error:
                        raise RunLost(message.error)
                    return
                on_event(message)
            elif ready:
                raise self._lost()

    def _lost(self) -> RunLost:
        """The worker died mid-run: start a fresh one for the next run; returns what to report for this one."""
        self._process.join(timeout=5)
        cause = death_cause(self._process.exitcode)
        self._conn.close()
        self.start()
        return RunLost(f"The worker process running this run died ({cause}) before the run ended.",
                       "Signal 9 (SIGKILL) usually means the system ran out of memory: lower the batch size or the "
                       "image size, or run fewer runs at a time. Other runs and the server were not affected.")

    def close(self) -> None:
        if self._process.is_alive():
            try:
                self._conn.send(None)
            except OSError:
                pass
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()
