"""How long a run will take on this server, from throughput measured here: a few timed batches the first time
a (backbone, image size, device) is asked about, then the pace of the finished runs recorded in the store.

Nothing here reads a test label; an estimate is a number of seconds and the words of where it came from.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import math
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import psutil
import torch

from tl_core import data
from tl_core.analysis.domain_confusion import domain_confusion
from tl_core.backbones import create_backbone, freeze_first, layer_groups
from tl_core.data.builtin import BUILTINS, builtin_cache_path
from tl_core.data.catalog import dataset_classes
from tl_core.data.folder import scan_image_folder
from tl_core.data.splits import SPLIT_SEED, TRAIN_VAL_TEST, stratified_indices
from tl_core.errors import ConfigError
from tl_core.machine.allocator import hold_freed_memory
from tl_core.machine.device import mixed_precision, pick_device
from tl_core.machine.paths import data_dir
from tl_core.networks.model import TransferModel
from tl_core.networks.pretrain import checkpoint_path
from tl_core.networks.ssl import MAX_IMAGES, ROTATION_WEIGHTS, needs_pretraining, network_key, pretext_dataset
from tl_core.runs.config import DEVICE_CHOICES, RunConfig, config_schema
from tl_core.runs.fingerprint import folder_signature
from tl_core.runs.status import Status
from tl_core.runs.validation import check_fields
from tl_core.serving.executors.processes import death_cause, no_main_script, torch_threads
from tl_core.serving.jobs import default_slots
from tl_core.strategies import build_strategy, strategy_class
from tl_core.train.loop import steps_per_epoch
from tl_core.train.task_a_probe import SAMPLE as TASK_A_SAMPLE

CALIBRATION_BATCHES = 30  # enough that a load passing on a busy machine does not set the pace
CALIBRATION_BATCH_SIZE = 64  # the runs' default
EVAL_BATCHES = 10  # timed evaluation batches (4× the training batch, as runs evaluate)
PROBE_ROWS = 500  # rows per domain of the timed domain-confusion probe (its cost grows about linearly with them)
FROZEN_BATCHES = 12  # timed batches at each freeze depth
FINISHED_RUNS_USED = 5
# The fewest finished runs whose pace replaces the timed one: a single run can have trained beside something
# passing (the first run on a fresh server trains while UMAP compiles), and then promised a 90-s lesson 14 min.
FINISHED_RUNS_NEEDED = 3
# Batches are timed only while the rest of the machine uses fewer cores than this: timed beside a fresh
# server's UMAP compile, lesson 1's card promised 4 min for a lesson of 68 s.
QUIET_BUSY_CORES = 0.5
QUIET_WAIT_S = 30.0  # how long a first timing waits for a quiet machine ($TL_QUIET_WAIT_S; 0: no wait)
RETIME_AFTER_S = 60.0  # a timing taken on a busy machine is taken again after this long, once it is quiet
BUILTIN_SIZES = {  # (train, val + test) images, for a built-in dataset not built yet
    "digits": (1258, 539), "digits-m": (1258, 539), "shapes": (4200, 1800), "synth-digits": (8400, 3600), "fonts-plain": (8400, 3600)}
UNKNOWN_SIZE = (1000, 400)
FOLDER = "folder:"


@dataclass(frozen=True)
class Pace:
    """Training images per second, and the seconds each epoch adds beyond training (evaluation, snapshots)."""

    images_per_s: float
    epoch_overhead_s: float | None  # None: not measured, modelled from the evaluation's size
    runs: int  # finished runs it comes from (0: timed batches on this server)
    probe_s: float = 0.0  # the domain-confusion probe on PROBE_ROWS rows per domain of this backbone's features
    eval_images_per_s: float = 0.0  # forward passes without gradients (0: not timed, taken as 3× training's)
    # training images per second with the first k layer groups frozen (k = 0, 1, …): a frozen group computes no
    # gradients, so a fine-tune that keeps the stem trains faster than scratch (() : not timed)
    frozen_images_per_s: tuple[float, ...] = ()
    # "": images_per_s counts images trained in plain steps, and a strategy's step is priced from its `step_images`;
    # a strategy's name: that strategy's own finished runs set it, in labelled images a second, its whole step
    strategy: str = ""

    def at_depth(self, freeze: int) -> "Pace":
        """The pace of a run that freezes its first `freeze` layer groups (the timed one where it was timed)."""
        if not self.frozen_images_per_s:
            return self
        return replace(self, images_per_s=self.frozen_images_per_s[min(freeze, len(self.frozen_images_per_s) - 1)])

    def scaled(self, factor: float) -> "Pace":
        """The same timing on a machine `factor` times as fast: every timed rate times `factor`, the probe's seconds
        divided by it."""
        return replace(self, images_per_s=self.images_per_s * factor, probe_s=self.probe_s / factor,
                       eval_images_per_s=self.eval_images_per_s * factor,
                       frozen_images_per_s=tuple(x * factor for x in self.frozen_images_per_s))

    @property
    def evaluation_images_per_s(self) -> float:
        return self.eval_images_per_s or 3.0 * self.images_per_s


@dataclass(frozen=True)
class RunEstimate:
    train_s: float
    pretrain_s: float  # 0 when the source network is cached (or none is needed)
    pace: Pace

    @property
    def total_s(self) -> float:
        return self.train_s + self.pretrain_s


_measured: dict[tuple, Pace | None] = {}  # None: the timing failed (the run itself will say why)
_measuring: dict[tuple, threading.Thread] = {}  # the timing in progress in this process (one at most)
_busy_timings: dict[tuple, float] = {}  # keys timed on a busy machine → when (time.monotonic())
_lock = threading.Lock()


def measure_pace(backbone: str, img_size: int, device: str = "cpu", batches: int = CALIBRATION_BATCHES,
                 batch_size: int = CALIBRATION_BATCH_SIZE) -> Pace:
    """Time `batches` training steps of the backbone on random images (after one untimed warm-up step), then
    evaluation batches (4× as large, as runs evaluate) and the domain-confusion probe on features of its width.
    The median batch stands for all: a batch slowed by something passing (a page loading) does not set the pace.
    Memory is held as runs hold it (`hold_freed_memory`), or a fresh timing process reads slower than they train."""
    hold_freed_memory()
    generator = torch.Generator().manual_seed(0)
    model = TransferModel(create_backbone(backbone, "random", img_size), 10).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randint(0, 256, (batch_size, 3, img_size, img_size), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (batch_size,), generator=generator)
    images, labels = images.to(device), labels.to(device)
    def images_per_s(steps: int) -> float:
        """Training steps timed one by one after an untimed warm-up; the median step stands for all."""
        model.train()
        seconds = []
        for _ in range(steps + 1):
            started = time.perf_counter()
            with mixed_precision(torch.device(device)):  # as the training loop runs
                loss = torch.nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if device == "cuda":
                torch.cuda.synchronize()
            seconds.append(time.perf_counter() - started)
        return batch_size / max(statistics.median(seconds[1:]), 1e-6)

    frozen = [images_per_s(batches)]
    model.eval()
    evaluated = images.repeat(4, 1, 1, 1)
    eval_seconds = []
    with torch.no_grad(), mixed_precision(torch.device(device)):
        for _ in range(EVAL_BATCHES + 1):
            started = time.perf_counter()
            model(evaluated).argmax(1).tolist()
            eval_seconds.append(time.perf_counter() - started)
        width = model.features(images[:1]).shape[1]
    for k in range(1, len(layer_groups(model.backbone))):
        freeze_first(model.backbone, k)
        frozen.append(images_per_s(min(batches, FROZEN_BATCHES)))
    rows = np.random.default_rng(0).normal(size=(2, PROBE_ROWS, width)).astype(np.float32)
    started = time.perf_counter()
    domain_confusion(rows[0], rows[1] + 0.5)
    probe_s = time.perf_counter() - started
    return Pace(frozen[0], None, 0, probe_s, len(evaluated) / max(statistics.median(eval_seconds[1:]), 1e-6),
                tuple(frozen))


def _measure_and_send(conn, backbone: str, img_size: int, device: str, threads: int) -> None:
    """The timing process: `measure_pace` with the threads a run gets; sends ("pace", Pace) or ("error", exception)."""
    torch.set_num_threads(threads)
    try:
        conn.send(("pace", measure_pace(backbone, img_size, device)))
    except Exception as err:  # raised again in the server, which keeps no estimate and lets the run say why
        conn.send(("error", err))
    finally:
        conn.close()


def measure_pace_apart(backbone: str, img_size: int, device: str) -> Pace:
    """`measure_pace` in a process of its own with the torch threads a run gets (`tl_core.serving.executors`): as a
    run never shares the server's interpreter lock with the page scripts, neither does its timing. The process does
    this one timing and exits. (A pool's idle worker holds both ends of its task queue, so one whose server was
    killed mid-timing waited on that queue for good; a pool that replaces its worker after each task spawns the
    replacement outside `no_main_script`, which runs the page script in it.)"""
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    process = spawn.Process(target=_measure_and_send, name="tl-calibrate", daemon=True,
                            args=(send, backbone, img_size, device, torch_threads(default_slots())))
    with no_main_script():
        process.start()
    send.close()
    try:
        kind, value = receive.recv()
    except EOFError:
        kind, value = "died", None
    finally:
        receive.close()
        process.join()
    if kind == "died":
        raise RuntimeError(f"the timing process ended without a result ({death_cause(process.exitcode)})")
    if kind == "error":
        raise value
    return value


def pace_from_runs(rows: list[dict], backbone: str, img_size: int, device: str, freeze: int | None = None,
                   like: RunConfig | None = None, needed: int = FINISHED_RUNS_NEEDED,
                   strategy: str = "") -> Pace | None:
    """The median pace of the newest finished runs of this backbone and image size on this kind of device (and
    freeze depth, when given), from their metrics rows (`row["metrics"]`, one dict per epoch with images_per_s and
    seconds); None with fewer than `needed` of them. Runs of plain steps, or with `strategy`, runs of that
    strategy alone (`Pace.strategy`). What an epoch adds beyond training (evaluation, snapshots, the task-A
    probe) is lent only by runs with the same extras as `like` (`_same_extras`); without one, it is left to be
    modelled (None)."""
    paces, overheads, used = [], [], 0
    for row in rows:
        config = row["config"]
        lends = config.get("strategy") == strategy if strategy else _step_kind(config.get("strategy")) == "plain"
        if (row.get("status") != Status.FINISHED or config.get("backbone") != backbone
                or config.get("img_size") != img_size or _device_type(row) != device or not lends
                or (freeze is not None and int(config.get("freeze") or 0) != freeze)):
            continue
        epochs = [m for m in row.get("metrics", []) if m.get("images_per_s") and m.get("seconds")]
        if not epochs:
            continue
        per_epoch = steps_per_epoch(int(row["summary"].get("labelled_examples") or 0), int(config["batch_size"]))
        lends_overhead = like is None or _same_extras(config, like)
        for m in epochs:
            paces.append(m["images_per_s"])
            if lends_overhead:
                overheads.append(max(0.0, m["seconds"] - per_epoch * config["batch_size"] / m["images_per_s"]))
        used += 1
        if used == FINISHED_RUNS_USED:
            break
    if used < needed:
        return None
    return Pace(statistics.median(paces), statistics.median(overheads) if overheads else None, used,
                strategy=strategy)


def _same_extras(recorded: dict, config: RunConfig) -> bool:
    """Whether a recorded run's epochs carried the same extras as `config`'s will: the same evaluation sets,
    snapshots and task-A probe. (An Experiment run's maps must not be lent to a lesson run that takes none.)"""
    return (recorded.get("target") == config.target and recorded.get("source") == config.source
            and _measures_forgetting(recorded.get("weights"), recorded.get("measure_forgetting"))
            == _measures_forgetting(config.weights, config.measure_forgetting)
            and int(recorded.get("snapshot_size") or 0) == config.snapshot_size
            and int(recorded.get("snapshot_every", 1)) == config.snapshot_every)


def _measures_forgetting(weights: str | None, asked: bool | None) -> bool:
    """Whether a run's epochs carry the task-A probe: asked for, from source weights (a run recorded before runs
    could choose, `asked` None, measured it whenever it started from source weights)."""
    return weights == "source" and asked is not False


def _device_type(row: dict) -> str:
    """The kind of device a finished run trained on ("cpu", "cuda", "mps"), from its summary: the store's own
    `device` column holds the device's human name ("CPU (2 cores)", the GPU's model)."""
    return str((row.get("summary") or {}).get("device") or row.get("device") or "").split(":")[0].lower()


def _step_kind(strategy: str | None) -> str:
    """How a strategy's runs are paced: "plain" (one batch trained per step: their images per second are the plain
    pace); "own" (a step that is more than a plain one, DANN's two domains or distillation's teacher: better priced
    by its own finished runs, which carry every cost of its step, than from the plain pace and its `step_images`);
    "" (one that encodes once and trains a head, whose runs' pace says nothing of encoding, or an unknown one in
    an old record)."""
    try:
        cls = strategy_class(strategy or "")
    except Exception:
        return ""
    if cls.encodes_once:
        return ""
    return "plain" if cls.step_images == (1.0, 0.0) else "own"


def pace_for(backbone: str, img_size: int, device: str, rows: list[dict] = (), wait: bool = True,
             freeze: int = 0, like: RunConfig | None = None) -> Pace | None:
    """Finished runs' pace when there are enough (FINISHED_RUNS_NEEDED): for a run like `like` whose strategy's
    step is more than a plain one, its own strategy's runs where there are enough of them (their pace carries its
    whole step); else runs of plain steps; else batches timed here once per server process and key, or the runs
    so far where they trained faster.

    One timing at a time: a request while another key is being timed starts nothing (with `wait=False` it gets
    None, "estimating…", and asks again later; with `wait=True` it waits its turn), so typing image sizes into a
    form cannot start a process per size. Across processes, `machine_lock` keeps it to one per machine. A size
    or device outside RunConfig's schema is refused (ConfigError) before anything starts."""
    own = like.strategy if like is not None and _step_kind(like.strategy) == "own" else ""
    from_runs = pace_from_runs(list(rows), backbone, img_size, device, freeze, like, strategy=own) if own else None
    if from_runs is None:
        from_runs = pace_from_runs(list(rows), backbone, img_size, device, freeze, like, needed=1)
    if from_runs is not None and from_runs.runs >= FINISHED_RUNS_NEEDED:
        timed = _measured.get((backbone, img_size, device))
        if from_runs.epoch_overhead_s is None and timed is not None:  # its extras are modelled at the timed paces
            from_runs = replace(from_runs, eval_images_per_s=timed.eval_images_per_s, probe_s=timed.probe_s)
        return from_runs
    timed = _timed_pace(backbone, img_size, device, wait)
    if timed is None:
        return None
    timed = timed.at_depth(freeze)
    # Too few finished runs to set the pace, but a pace only ever reads slow when something else ran beside it
    # (a fresh server compiles UMAP while it times its batches, or a run trains): the faster of the timing and
    # those runs. What slowed the timing's training steps slowed its evaluation and probe alike (beside one
    # training run: 3.0×, 2.5× and 1.7–2.8×), so a timing the runs outpace is scaled whole.
    if from_runs is not None and from_runs.images_per_s > timed.images_per_s:
        return replace(timed.scaled(from_runs.images_per_s / timed.images_per_s), runs=from_runs.runs)
    return timed


def _timed_pace(backbone: str, img_size: int, device: str, wait: bool) -> Pace | None:
    """The timed pace of this key (timing it first); a timing taken on a busy machine is used until a quiet
    machine has timed it again, in the background."""
    _check_key(img_size, device)
    key = (backbone, img_size, device)
    while True:
        with _lock:
            busy = next((t for t in _measuring.values() if t.is_alive()), None)
            if key in _measured:
                if busy is None and time.monotonic() - _busy_timings.get(key, math.inf) > RETIME_AFTER_S:
                    _start_timing(key, again=True)
                return _measured[key]
            if busy is None:
                busy = _start_timing(key, again=False)
        if not wait:
            return None
        busy.join()


def time_ahead(keys, device: str) -> threading.Thread:
    """Time each (backbone, image size) of `keys` not timed yet, one after another on a thread of its own, each in
    its turn (`_timed_pace`): what a server does once at start for the networks its lessons train, so that a card
    pressed later promises at once instead of saying it is still timing."""
    def run() -> None:
        for backbone, img_size in keys:
            _timed_pace(backbone, img_size, device, wait=True)

    thread = threading.Thread(target=run, daemon=True, name="tl-time-ahead")
    thread.start()
    return thread


def _start_timing(key: tuple, again: bool) -> threading.Thread:
    """Time `key`'s batches on a thread of its own (call with `_lock` held)."""
    thread = _measuring[key] = threading.Thread(target=_measure_into_cache, args=(*key, again), daemon=False,
                                                name=f"tl-calibrate-{key[0]}-{key[1]}")
    thread.start()
    return thread


def machine_is_quiet(sample_s: float = 1.0) -> bool:
    """Whether the machine as a whole used fewer than QUIET_BUSY_CORES cores over the next `sample_s` seconds."""
    return psutil.cpu_percent(interval=sample_s) / 100 * (psutil.cpu_count() or 1) < QUIET_BUSY_CORES


def wait_until_quiet(limit_s: float) -> bool:
    """Wait up to `limit_s` seconds for a quiet machine (`machine_is_quiet`); whether it came (True at once when
    `limit_s` is 0: the wait is switched off)."""
    if limit_s <= 0:
        return True
    deadline = time.monotonic() + limit_s
    while not machine_is_quiet():
        if time.monotonic() >= deadline:
            return False
    return True


def _check_key(img_size: int, device: str) -> None:
    config_schema()["img_size"].check(img_size)
    if device not in DEVICE_CHOICES:
        raise ConfigError(f"Unknown device '{device}': choose one of {', '.join(DEVICE_CHOICES)}.")


def lock_path() -> Path:
    """The file every process on this machine locks while it times batches (in the system's temporary folder)."""
    return Path(tempfile.gettempdir()) / "transfer-lab-calibration.lock"


@contextlib.contextmanager
def machine_lock():
    """Hold the machine-wide timing lock (waiting for another process's timing to end first)."""
    fd = os.open(lock_path(), os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _measure_into_cache(backbone: str, img_size: int, device: str, again: bool = False) -> None:
    """Time the key's batches once the machine is quiet (waiting up to $TL_QUIET_WAIT_S seconds; then anyway,
    remembered as taken on a busy machine). `again`: a busy machine's timing retaken only if it is quiet now."""
    key = (backbone, img_size, device)
    pace, quiet = _measured.get(key), False
    try:
        with machine_lock():
            quiet = machine_is_quiet() if again else wait_until_quiet(float(os.environ.get("TL_QUIET_WAIT_S",
                                                                                          QUIET_WAIT_S)))
            if quiet or not again:
                pace = measure_pace_apart(backbone, img_size, device)
    except Exception:  # an unknown backbone or a full GPU: no estimate, and the run itself will say why
        pace = None if not again else pace
    with _lock:
        _measured[key] = pace
        if quiet:
            _busy_timings.pop(key, None)
        else:
            _busy_timings[key] = time.monotonic()
        _measuring.pop(key, None)


def dataset_sizes(name: str, img_size: int) -> tuple[int, int]:
    """(train images, val + test images) of a dataset, read from its cache when it is built; a folder's are
    counted once per content (`_folder_sizes`), not decoded on every page draw."""
    if name not in BUILTINS and not name.startswith(FOLDER):
        return UNKNOWN_SIZE
    try:
        if name.startswith(FOLDER):
            path = os.path.realpath(name[len(FOLDER):])
            return _folder_sizes(path, folder_signature(path))
        cache = builtin_cache_path(name, img_size, data_dir())
        if not cache.exists():
            return BUILTIN_SIZES.get(name, UNKNOWN_SIZE)
        return _built_sizes(name, img_size, str(cache), cache.stat().st_mtime_ns)
    except Exception:  # an estimate never fails a page: the run itself will say what is wrong
        return UNKNOWN_SIZE


@functools.lru_cache(maxsize=64)
def _built_sizes(name: str, img_size: int, cache: str, mtime_ns: int) -> tuple[int, int]:
    """A built dataset's split sizes, loaded from its cache once per version of that file (`cache`, `mtime_ns`
    are the key): a page drawn for every queued run must not read the whole dataset each time."""
    domain = data.load_domain(name, img_size)
    return len(domain.train.labels), len(domain.val.labels) + len(domain.test.labels)


@functools.lru_cache(maxsize=256)
def _folder_sizes(path: str, signature: str) -> tuple[int, int]:
    """A folder's split sizes, from its scan (headers, nothing decoded) and the engine's fixed split; cached by
    the names, sizes and times of its files (`signature`), so a changed folder is counted again."""
    _, items, _ = scan_image_folder(path)
    train, val, test = stratified_indices(torch.tensor([label for _, label in items]), TRAIN_VAL_TEST, SPLIT_SEED)
    return len(train), len(val) + len(test)


def epoch_seconds(steps: int, batch_size: int, eval_images: int, snapshot_images: int, pace: Pace,
                  step_cost: float = 1.0, forward_cost: float = 0.0) -> float:
    """One epoch: its training steps at the measured pace (`step_cost` images trained and `forward_cost` images
    only passed forward per image of a batch, `Strategy.step_images`), then evaluation and the feature snapshot."""
    train = steps * batch_size * (step_cost / pace.images_per_s + forward_cost / pace.evaluation_images_per_s)
    if pace.epoch_overhead_s is not None:
        return train + pace.epoch_overhead_s
    evaluation = (eval_images + snapshot_images) / pace.evaluation_images_per_s
    return train + evaluation + pace.probe_s * snapshot_images / (2 * PROBE_ROWS)


def snapshot_count(epochs: int, every: int) -> int:
    """Feature snapshots a run takes: before training, every `every` epochs (0: none between), and at the end."""
    between = {e for e in range(1, epochs + 1) if every > 0 and e % every == 0}
    return 1 + len(between | {epochs})


def estimate_run(config: RunConfig, rows: list[dict] = (), wait: bool = True,
                 sizes: tuple[int, int, int] | None = None) -> RunEstimate | None:
    """Seconds the run will train (and pretrain task A, when no cached source network exists) on this server;
    None while this server's pace is still being timed (`wait=False`) or cannot be. A config outside the schema
    is refused (ConfigError) before anything is timed or read."""
    check_fields(config)
    strategy = build_strategy(config.strategy, config.settings)
    config = strategy.effective_config(config)  # what the run really does (scratch: random weights, no freeze)
    device = pick_device(config.device).type
    pace = pace_for(config.backbone, config.img_size, device, rows, wait=wait, freeze=config.freeze, like=config)
    if pace is None:
        return None
    if sizes is not None:  # (train, val + test, classes) of a dataset not prepared yet
        train_n, eval_n, classes = sizes
    else:
        train_n, eval_n = dataset_sizes(config.target, config.img_size)
        classes = len(dataset_classes(config.target) or range(10))
    if strategy.labelled_domain == "source":  # trained on every labelled source image (DANN, source only)
        labelled, _ = dataset_sizes(config.source, config.img_size)
    else:
        labelled = train_n if config.labels_per_class is None else min(train_n, config.labels_per_class * classes)
    trained_share, scored_share = strategy.data_shares(config)
    labelled, eval_n = round(labelled * trained_share), round(eval_n * scored_share)
    steps = steps_per_epoch(labelled, config.batch_size)
    trained, forwarded = (1.0, 0.0) if pace.strategy else strategy.step_images  # its own runs' pace: a whole step
    # A run that measures forgetting also measures, before and after each epoch, how well it still does task A.
    task_a = TASK_A_SAMPLE if _measures_forgetting(config.weights, config.measure_forgetting) else 0
    test_n = round(eval_n * TRAIN_VAL_TEST[2] / (TRAIN_VAL_TEST[1] + TRAIN_VAL_TEST[2]))
    # A strategy that encodes every split once evaluates features afterwards: nothing to price per epoch.
    # Task A is scored by its own network; the target's images go through every network of the model.
    passes = strategy.eval_passes
    per_epoch_eval = task_a + (0 if strategy.encodes_once else eval_n * passes)
    train = config.epochs * epoch_seconds(steps, config.batch_size, per_epoch_eval, 0, pace, trained, forwarded)
    if pace.epoch_overhead_s is None:  # measured overheads already include snapshots and task A
        # once: task A before training and at the end with A's own statistics (its training sample re-estimates
        # them, then its test sample scores), the encoding (linear probe) or the final test evaluation
        once = 3 * task_a + (labelled + eval_n if strategy.encodes_once else test_n * passes)
        train += once / pace.evaluation_images_per_s
        if config.snapshot_size:
            train += snapshot_count(config.epochs, config.snapshot_every) * epoch_seconds(
                0, config.batch_size, 0, 2 * config.snapshot_size * passes, pace)
    return RunEstimate(train, pretrain_seconds(config, pace), pace)


def pretrain_seconds(config: RunConfig, pace: Pace) -> float:
    """Seconds to pretrain the network the run starts from when none is shipped or cached: task A's network
    (`weights source`) or the rotation network (`ssl:rotation…`, on up to MAX_IMAGES images in four turns)."""
    plain = replace(pace, epoch_overhead_s=None)  # pretraining evaluates its own task, snapshots nothing
    if not needs_pretraining(config):
        return 0.0
    if config.weights not in ROTATION_WEIGHTS:
        source_train, source_eval = dataset_sizes(config.source, config.img_size)
        return config.pretrain_epochs * epoch_seconds(steps_per_epoch(source_train, config.batch_size),
                                                      config.batch_size, source_eval, 0, plain)
    pool_train, pool_eval = dataset_sizes(pretext_dataset(config), config.img_size)
    val = 4 * min(round(pool_eval * TRAIN_VAL_TEST[1] / (TRAIN_VAL_TEST[1] + TRAIN_VAL_TEST[2])), MAX_IMAGES // 4)
    return config.pretrain_epochs * epoch_seconds(
        steps_per_epoch(4 * min(pool_train, MAX_IMAGES), config.batch_size), config.batch_size, 2 * val, 0, plain)


def estimate_runs(configs: list[RunConfig], rows: list[dict] = (), wait: bool = True,
                  sizes: tuple[int, int, int] | None = None) -> list[RunEstimate] | None:
    """`estimate_run` for runs submitted together: a source network they share is pretrained once."""
    estimates = []
    for config in configs:
        estimate = estimate_run(config, rows, wait=wait, sizes=sizes)
        if estimate is None:
            return None
        estimates.append(estimate)
    return pretrained_once(configs, estimates)


def pretrained_once(configs: list[RunConfig], estimates: list[RunEstimate | None]) -> list[RunEstimate | None]:
    """The estimates of runs that start in this order, each network they share pretrained by the first only."""
    out, pretrained = [], set()
    for config, estimate in zip(configs, estimates):
        if estimate is not None and estimate.pretrain_s:
            path = checkpoint_path(network_key(config))
            if path in pretrained:
                estimate = replace(estimate, pretrain_s=0.0)
            pretrained.add(path)
        out.append(estimate)
    return out


def finished_rows(store, limit: int = 20) -> list[dict]:
    """The newest finished runs of a RunStore, each with its metrics rows (what `pace_from_runs` reads)."""
    rows = store.list(status=Status.FINISHED, limit=limit, heal=False)
    return [{**row, "metrics": store.run_dir(row["run_id"]).read_metrics()} for row in rows]
