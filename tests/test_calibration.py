"""Time promises come from this server: the pace of finished runs (or batches timed here), pretraining counted
only when no cached source network exists, the queue ahead shared over the slots, the words saying so; and the
live ETA follows the run's own pace, pretraining excluded."""
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tl_core.networks.ssl import needs_pretraining
from tl_core.records.run_view import RunView
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status
from tl_core.serving import calibration, jobs, live_eta
from tl_core.serving.calibration import Pace
from tl_core.train.events import EpochEnd, RunStarted, StageStarted, Step
from tl_view.views import promise_text, rough

ROOT = Path(__file__).resolve().parents[1]


def finished(backbone="small_cnn", img_size=32, images_per_s=500.0, seconds=6.0, labelled=50, batch_size=64,
             strategy="fine-tune", device="cpu", **settings):
    config = RunConfig(backbone=backbone, img_size=img_size, batch_size=batch_size, strategy=strategy,
                       **settings).to_dict()
    return {"status": "finished", "device": device, "config": config,
            "summary": {"labelled_examples": labelled, "device": device},
            "metrics": [{"epoch": e, "images_per_s": images_per_s, "seconds": seconds} for e in (1, 2)]}


def test_the_pace_of_finished_runs_of_the_same_backbone_size_and_device():
    rows = [finished(images_per_s=400.0), finished(images_per_s=600.0), finished(images_per_s=500.0),
            finished(backbone="resnet18", images_per_s=5.0), finished(img_size=64, images_per_s=5.0),
            finished(strategy="dann", images_per_s=5.0), finished(device="cuda", images_per_s=5.0)]
    pace = calibration.pace_from_runs(rows, "small_cnn", 32, "cpu")
    assert pace.runs == 3 and pace.images_per_s == 500.0
    # 20 steps of 64 images at 500 images/s is 2.56 s of an epoch of 6 s: the rest is evaluation and snapshots
    assert pace.epoch_overhead_s == pytest.approx(6.0 - 20 * 64 / 500)
    assert calibration.pace_from_runs(rows, "convnext_atto", 32, "cpu") is None


def test_one_or_two_finished_runs_do_not_set_the_pace():
    """The walk's first Experiment run trained while the fresh server compiled UMAP: alone it set the pace, and
    lesson 1's card promised 14 min for a lesson that took 87 s."""
    slow = [finished(images_per_s=150.0)] * (calibration.FINISHED_RUNS_NEEDED - 1)
    assert calibration.pace_from_runs(slow, "small_cnn", 32, "cpu") is None
    assert calibration.pace_from_runs(slow + [finished(images_per_s=2000.0)], "small_cnn", 32, "cpu").runs == 3


def test_until_three_runs_agree_the_pace_is_the_faster_of_the_timing_and_the_runs_so_far(monkeypatch):
    """The walk's fresh server timed its batches while UMAP compiled beside them (lesson 1 promised 4 min for
    87 s); a timing or a run only ever reads slow when something else ran beside it."""
    timed = Pace(800.0, None, 0, 0.5, 2400.0, (800.0, 1000.0))
    monkeypatch.setattr(calibration, "_measured", {("small_cnn", 32, "cpu"): timed})
    fast, slow = [finished(images_per_s=2500.0, freeze=1)], [finished(images_per_s=150.0, freeze=1)]
    assert calibration.pace_for("small_cnn", 32, "cpu", fast, freeze=1).images_per_s == 2500.0
    assert calibration.pace_for("small_cnn", 32, "cpu", fast, freeze=1).runs == 1
    # what slowed the timing's steps slowed its evaluation and probe too: beside a training run, lesson 4's card
    # promised 18 min for 7 min of runs, lesson 1's 2 min for 64 s
    outpaced = calibration.pace_for("small_cnn", 32, "cpu", fast, freeze=1)
    assert outpaced.eval_images_per_s == pytest.approx(2400.0 * 2.5) and outpaced.probe_s == pytest.approx(0.5 / 2.5)
    assert outpaced.frozen_images_per_s == pytest.approx((2000.0, 2500.0))
    assert calibration.pace_for("small_cnn", 32, "cpu", slow, freeze=1).images_per_s == 1000.0  # the timed one
    three = slow * calibration.FINISHED_RUNS_NEEDED  # three runs that agree set the pace, slow or not
    assert calibration.pace_for("small_cnn", 32, "cpu", three, freeze=1).images_per_s == 150.0


def test_a_finished_run_lends_what_its_epochs_added_only_to_runs_with_the_same_extras():
    """An Experiment run's epochs carry maps and the task-A probe: lent to a lesson run that takes no snapshots,
    they made lesson 1's card promise 2 min for a lesson that took 81 s."""
    rows = [finished(images_per_s=500.0, seconds=6.0)] * calibration.FINISHED_RUNS_NEEDED
    recorded = RunConfig.from_dict(rows[0]["config"])
    same = calibration.pace_from_runs(rows, "small_cnn", 32, "cpu", like=recorded)
    assert same.epoch_overhead_s == pytest.approx(6.0 - 20 * 64 / 500)
    probed = recorded.weights == "source" and recorded.measure_forgetting
    for other in (recorded.replace(snapshot_size=0), recorded.replace(target="shapes"),
                  recorded.replace(weights="source", measure_forgetting=not probed)):
        lent = calibration.pace_from_runs(rows, "small_cnn", 32, "cpu", like=other)
        assert lent.images_per_s == 500.0 and lent.epoch_overhead_s is None
    # a run from source weights recorded before runs chose whether to measure forgetting always measured it
    older = [{**row, "config": {k: v for k, v in {**row["config"], "weights": "source"}.items()
                                if k != "measure_forgetting"}} for row in rows]
    for like, lends in ((recorded.replace(weights="source", measure_forgetting=True), True),
                        (recorded.replace(weights="source", measure_forgetting=False), False)):
        lent = calibration.pace_from_runs(older, "small_cnn", 32, "cpu", like=like)
        assert (lent.epoch_overhead_s is not None) == lends


def test_a_run_recorded_by_the_store_lends_its_pace(runs_dir, tiny):
    """The store's `device` column is the device's human name ("CPU (2 cores)"); the run's kind is in its summary."""
    from tl_core.records.store import RunStore
    from tl_core.runs.runner import prepare_run

    store = RunStore(runs_dir)
    for _ in range(calibration.FINISHED_RUNS_NEEDED):
        run = prepare_run(tiny.replace(img_size=32), runs_dir, owner="test")
        for epoch in (1, 2):
            run.append_metrics({"epoch": epoch, "images_per_s": 800.0, "seconds": 3.0})
        run.write_summary({**run.read_summary(), "status": "finished", "device": "cpu",
                           "device_name": "CPU (2 cores)", "labelled_examples": 200})
        store.upsert(run.run_id, run.read_config(), run.read_summary(), owner="test")
    pace = calibration.pace_from_runs(calibration.finished_rows(store), tiny.backbone, 32, "cpu", tiny.freeze)
    assert pace is not None and pace.images_per_s == 800.0


def test_an_estimate_scales_with_epochs_and_counts_pretraining_only_without_a_cached_source(data_dir):
    rows = [finished(images_per_s=640.0, seconds=4.0, source="digits", target="digits")] * 3
    config = RunConfig(source="digits", target="digits", labels_per_class=5, epochs=4, batch_size=64)
    estimate = calibration.estimate_run(config, rows)
    assert estimate.train_s == pytest.approx(4 * 4.0)  # same steps per epoch as the finished run: its epoch time
    assert estimate.pretrain_s > 0 and needs_pretraining(config)
    twice = calibration.estimate_run(config.replace(epochs=8), rows)
    assert twice.train_s == pytest.approx(2 * estimate.train_s)
    assert calibration.estimate_run(config.replace(weights="random"), rows).pretrain_s == 0.0
    from tl_core.networks.pretrain import checkpoint_path

    path = checkpoint_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"cached")
    try:
        assert calibration.estimate_run(config, rows).pretrain_s == 0.0
    finally:
        path.unlink()


def test_a_strategy_whose_step_is_more_than_a_plain_one_is_priced_by_its_own_finished_runs(data_dir, monkeypatch):
    """Lesson 4's DANN runs, priced from the plain pace times their 2 × 64 images, were promised 233 s for 158 s:
    their step also carries the domain head, and its cost per image is not a plain step's. Three finished DANN
    runs set DANN's pace (labelled images a second, the whole step); fewer leave it to the plain pace."""
    monkeypatch.setattr(calibration, "_measured", {})
    dann = RunConfig(source="digits", target="digits-m", strategy="dann", weights="random", epochs=3,
                     batch_size=64, snapshot_size=0)
    plain = [finished(images_per_s=4000.0, seconds=4.0, weights="random")] * calibration.FINISHED_RUNS_NEEDED
    own = [finished(strategy="dann", source="digits", target="digits-m", weights="random", snapshot_size=0,
                    images_per_s=1000.0, seconds=2.0, labelled=1258)] * calibration.FINISHED_RUNS_NEEDED
    steps = 20  # digits' 1,258 training images in batches of 64
    from_plain = calibration.estimate_run(dann, plain)
    assert from_plain.pace.strategy == "" and from_plain.pace.runs == calibration.FINISHED_RUNS_NEEDED
    assert from_plain.train_s > 3 * steps * 64 * 2 / 4000.0  # two domains' images a step at the plain pace
    from_own = calibration.estimate_run(dann, plain + own)
    assert from_own.pace.strategy == "dann" and from_own.pace.images_per_s == 1000.0
    overhead = 2.0 - steps * 64 / 1000.0  # what each of its epochs added beyond training
    assert from_own.train_s == pytest.approx(3 * (steps * 64 / 1000.0 + overhead))
    fewer = calibration.estimate_run(dann, plain + own[:-1])
    assert fewer.pace.strategy == "" and fewer.train_s == pytest.approx(from_plain.train_s)
    # DANN's runs lend nothing to a plain run, nor to a strategy that encodes once and trains a head
    fine_tune = calibration.estimate_run(dann.replace(strategy="fine-tune", target="digits"), plain + own)
    assert fine_tune.pace.strategy == ""
    probe = calibration.estimate_run(dann.replace(strategy="linear-probe", target="digits"), plain + own)
    assert probe.pace.strategy == "" and probe.pace.images_per_s == 4000.0


@pytest.mark.slow
def test_the_defaults_start_from_the_shipped_network_so_no_pretraining_is_promised(data_dir):
    rows = [finished()]
    assert not needs_pretraining(RunConfig())
    assert calibration.estimate_run(RunConfig(), rows).pretrain_s == 0.0


@pytest.mark.slow
def test_runs_submitted_together_pretrain_their_shared_source_once(data_dir):
    rows = [finished()]
    config = RunConfig(source="digits", target="digits", weights="source")
    first, second = calibration.estimate_runs([config, config.replace(seed=config.seed, lr=0.03)], rows)
    assert first.pretrain_s > 0 and second.pretrain_s == 0.0


@pytest.mark.slow
def test_batches_timed_on_this_server_give_a_pace():
    pace = calibration.measure_pace("small_cnn", 16, "cpu", batches=1, batch_size=4)
    assert pace.images_per_s > 0 and pace.runs == 0 and pace.epoch_overhead_s is None and pace.probe_s > 0
    from tl_core.backbones import create_backbone, layer_groups

    groups = len(layer_groups(create_backbone("small_cnn", "random", 16)))
    assert len(pace.frozen_images_per_s) == groups and pace.frozen_images_per_s[0] == pace.images_per_s


@pytest.mark.slow
def test_the_timing_process_of_a_killed_server_exits_instead_of_waiting_for_good():
    """A server killed while it times batches apart (`measure_pace_apart`) leaves its timing process behind; that
    process must end once its timing is done, not idle on its task queue for the rest of the machine's life."""
    server = subprocess.Popen([sys.executable, "-c", (
        "import threading, time\n"
        "from tl_core.serving.calibration import measure_pace_apart\n"
        "threading.Thread(target=measure_pace_apart, args=('small_cnn', 32, 'cpu')).start()\n"
        "time.sleep(600)\n")], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while not (children := psutil.Process(server.pid).children(recursive=True)):
            assert time.monotonic() < deadline, "the timing process never started"
            time.sleep(0.2)
        time.sleep(1)  # the timing under way
        children = psutil.Process(server.pid).children(recursive=True)
    finally:
        server.kill()
        server.wait()
    _, alive = psutil.wait_procs(children, timeout=120)
    for process in alive:
        process.kill()
    assert not alive, f"left behind: {[p.cmdline()[-1][:60] for p in alive]}"


def test_a_run_that_freezes_layer_groups_is_priced_at_the_pace_timed_with_them_frozen(data_dir, monkeypatch):
    """A frozen group computes no gradients: the stem kept, a fine-tune's steps cost less than scratch's."""
    timed = Pace(500.0, None, 0, 0.0, 1500.0, (500.0, 700.0, 900.0))
    monkeypatch.setattr(calibration, "_measured", {("small_cnn", 32, "cpu"): timed})
    base = RunConfig(source="digits", target="digits", weights="random", labels_per_class=5, epochs=4, device="cpu",
                     snapshot_size=0)
    scratch = calibration.estimate_run(base.replace(strategy="scratch"))
    kept_stem = calibration.estimate_run(base.replace(strategy="fine-tune", freeze=1))
    assert scratch.pace.images_per_s == 500.0 and kept_stem.pace.images_per_s == 700.0
    assert kept_stem.train_s < scratch.train_s
    # scratch trains every group whatever freeze depth its config carries (its effective config)
    assert calibration.estimate_run(base.replace(strategy="scratch", freeze=2)).pace.images_per_s == 500.0


def test_a_step_costs_what_its_strategy_trains_and_passes_forward(data_dir, monkeypatch):
    """DANN steps through the labelled source (every font digit), two batches a step; a linear probe encodes
    every split once and then trains a head only."""
    timed = Pace(1000.0, None, 0, 0.0, 3000.0)
    monkeypatch.setattr(calibration, "_measured", {("small_cnn", 32, "cpu"): timed})
    base = RunConfig(source="synth-digits", target="digits", weights="random", labels_per_class=None, epochs=2,
                     device="cpu", snapshot_size=0, freeze=0)
    source_only = calibration.estimate_run(base.replace(strategy="source-only"))
    dann = calibration.estimate_run(base.replace(strategy="dann"))
    train_n, eval_n = calibration.dataset_sizes("synth-digits", 32)
    steps = -(-train_n // 64)
    assert source_only.train_s > 2 * steps * 64 / 1000.0  # every source image, each epoch
    assert dann.train_s - source_only.train_s == pytest.approx(2 * steps * 64 / 1000.0)  # a second batch a step
    probe = calibration.estimate_run(base.replace(strategy="linear-probe", weights="imagenet", backbone="small_cnn"))
    assert probe.train_s < calibration.estimate_run(base.replace(strategy="scratch")).train_s / 5


def test_a_progressive_network_is_evaluated_through_both_its_columns(data_dir, monkeypatch):
    """Its evaluations pass each image through column A and column B; priced as one network, lesson 10's card
    promised 20 s for 32 s (bench/lesson_timing.py). Task A's accuracy is measured on column A alone."""
    timed = Pace(1000.0, None, 0, 0.0, 3000.0)
    monkeypatch.setattr(calibration, "_measured", {("small_cnn", 32, "cpu"): timed})
    base = RunConfig(source="digits", target="shapes", weights="source", labels_per_class=30, epochs=3, device="cpu",
                     snapshot_size=0, freeze=0)
    _, eval_n = calibration.dataset_sizes("shapes", 32)
    test_n = round(eval_n * 2 / 3)
    for forgetting in (False, True):
        config = base.replace(measure_forgetting=forgetting)
        tuned = calibration.estimate_run(config.replace(strategy="fine-tune")).train_s
        progressive = calibration.estimate_run(config.replace(strategy="progressive")).train_s
        steps = calibration.steps_per_epoch(300, 64)
        column_a_forward = 3 * steps * 64 / 3000.0
        assert progressive - tuned == pytest.approx(column_a_forward + (3 * eval_n + test_n) / 3000.0)


def test_zero_shot_is_priced_on_the_seen_classes_it_trains_on_and_the_unseen_it_scores(data_dir, monkeypatch):
    """It was priced as if it trained on every class and scored every test image: twice its measured time."""
    from tl_core.data.attributes import class_attributes

    timed = Pace(1000.0, None, 0, 0.0, 3000.0)
    monkeypatch.setattr(calibration, "_measured", {("small_cnn", 32, "cpu"): timed})
    base = RunConfig(source="attribute-shapes", target="attribute-shapes", weights="random", labels_per_class=None,
                     epochs=4, device="cpu", snapshot_size=0, freeze=0)
    everything = calibration.estimate_run(base.replace(strategy="scratch")).train_s
    zero_shot = calibration.estimate_run(base.replace(strategy="zero-shot")).train_s
    table = class_attributes("attribute-shapes")
    held_out = len(table.unseen) / len(table.signatures)
    assert 0 < held_out < 1 and zero_shot < everything
    train_n, eval_n = calibration.dataset_sizes("attribute-shapes", 32)
    seen_steps = calibration.steps_per_epoch(round(train_n * (1 - held_out)), 64)
    assert zero_shot == pytest.approx(4 * (seen_steps * 64 / 1000.0 + round(eval_n * held_out) / 3000.0)
                                      + round(round(eval_n * held_out) * 2 / 3) / 3000.0, rel=1e-6)


def test_the_server_times_batches_in_a_process_of_its_own_with_a_run_s_threads(monkeypatch):
    """The server's own torch threads (one, so pages stay responsive) are not what a run gets (the processes
    executor's share of the cores), and the page scripts hold the interpreter lock: the timing happens apart."""
    import torch

    seen, apart = [], calibration.measure_pace_apart
    monkeypatch.setattr(calibration, "measure_pace_apart", lambda *key: seen.append(key) or Pace(123.0, None, 0))
    monkeypatch.setattr(calibration, "_measured", {})
    monkeypatch.setattr(calibration, "_measuring", {})
    assert calibration.pace_for("small_cnn", 16, "cpu", wait=True) == Pace(123.0, None, 0)
    assert seen == [("small_cnn", 16, "cpu")]

    threads = torch.get_num_threads()
    monkeypatch.setenv("TL_TORCH_THREADS", str(threads + 1))
    pace = apart("small_cnn", 16, "cpu")  # a real child process
    assert pace.images_per_s > 0 and torch.get_num_threads() == threads  # the server's threads are untouched
    try:  # what the child runs: the run's threads, then the timing, sent back
        receive, send = multiprocessing.Pipe(duplex=False)
        calibration._measure_and_send(send, "small_cnn", 16, "cpu", threads + 1)
        kind, pace = receive.recv()
        assert kind == "pace" and pace.images_per_s > 0 and torch.get_num_threads() == threads + 1
    finally:
        torch.set_num_threads(threads)
    with pytest.raises(Exception, match="no-such-backbone"):  # the child's failure is raised in the server
        apart("no-such-backbone", 16, "cpu")


def test_the_promise_says_where_each_part_comes_from():
    from tl_core.serving.promises import Promise

    text = promise_text(Promise(122.0, 60.0, 0.0, 3, 2, 0))
    assert text == ("about 2 min: 1 min for its 3 runs at the pace measured on this server + 1 min waiting for 2 "
                    "other runs ahead")
    text = promise_text(Promise(340.0, 340.0, 300.0, 1, 0, 3))
    assert text == ("about 6 min: 6 min for its 1 run at the pace of 3 finished runs on this server (5 min of it "
                    "pretraining the network it starts from, once; cached afterwards)")
    assert rough(3 * 3600 + 30 * 60) == "3 h 30 min" and rough(4) == "10 s"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_live_eta_follows_the_run_s_own_pace_and_ignores_pretraining(monkeypatch):
    """A synthetic pace: 300 s of pretraining, 12 s before the first step (data, the snapshot before training),
    then 5 epochs of 20 one-second steps, each followed by 3 s of evaluation before its EpochEnd and a 2-s
    snapshot after it, and 6 s to finish the run. From the end of the first epoch to the start of the last, the
    ETA stays within 25% of the time really left (in the last epoch a few seconds of finishing are unknown)."""
    clock = Clock()
    monkeypatch.setattr(jobs.time, "time", clock)
    job = jobs.Job(RunView("r1", RunConfig(epochs=5), Status.RUNNING))
    job.on_event(StageStarted("r1", "pretrain", "Pretraining"))
    for step in range(1, 301):
        clock.now += 1.0
        job.on_event(Step("r1", "pretrain", 1, step, 300, 1.0))
    job.on_event(RunStarted("r1", {}, "cpu", "CPU", 1, 0, []))
    clock.now += 12.0
    epochs, steps, step_s, eval_s, snapshot_s, finish_s = 5, 20, 1.0, 3.0, 2.0, 6.0
    ends_at = clock.now + epochs * (steps * step_s + eval_s) + (epochs - 1) * snapshot_s + finish_s
    checked = 0
    for epoch in range(1, epochs + 1):
        for i in range(1, steps + 1):
            clock.now += step_s
            job.on_event(Step("r1", "train", epoch, (epoch - 1) * steps + i, epochs * steps, 1.0))
            if 1 < epoch < epochs:
                left = ends_at - clock.now
                assert abs(job.eta_seconds() - left) <= 0.25 * left, (epoch, i, job.eta_seconds(), left)
                checked += 1
        clock.now += eval_s
        job.on_event(EpochEnd("r1", "train", epoch, epochs, {"epoch": epoch}))
        clock.now += snapshot_s if epoch < epochs else 0.0
    assert checked == (epochs - 2) * steps


def test_the_live_eta_follows_the_latest_pace_not_the_first_epoch_s_warm_up(monkeypatch):
    """Epoch 1's steps take twice as long as the rest (caches, a page loading beside it): once the ETA has the
    pace of three epochs, it is within 10% of the time left until the last epoch; an average since the first step
    was up to 25% over there."""
    clock = Clock()
    monkeypatch.setattr(jobs.time, "time", clock)
    job = jobs.Job(RunView("r1", RunConfig(epochs=8), Status.RUNNING))
    job.on_event(RunStarted("r1", {}, "cpu", "CPU", 1, 0, []))
    epochs, steps, gap_s = 8, 20, 0.5
    step_s = lambda epoch: 0.2 if epoch == 1 else 0.1  # noqa: E731
    ends_at = clock.now + sum(steps * step_s(e) + gap_s for e in range(1, epochs + 1))
    errors = []
    for epoch in range(1, epochs + 1):
        for i in range(1, steps + 1):
            clock.now += step_s(epoch)
            job.on_event(Step("r1", "train", epoch, (epoch - 1) * steps + i, epochs * steps, 1.0))
            if live_eta.RECENT_EPOCHS < epoch < epochs:
                left = ends_at - clock.now
                errors.append((abs(job.eta_seconds() - left) / left, epoch, i))
        clock.now += gap_s
        job.on_event(EpochEnd("r1", "train", epoch, epochs, {"epoch": epoch}))
    assert max(errors)[0] <= 0.10, max(errors)


def test_snapshots_are_counted_as_the_run_takes_them():
    assert calibration.snapshot_count(8, 2) == 1 + 4  # before training, then epochs 2, 4, 6, 8
    assert calibration.snapshot_count(5, 2) == 1 + 3  # 2, 4 and the last
    assert calibration.snapshot_count(5, 0) == 2  # before and at the end


def test_dataset_sizes_come_from_a_built_dataset_s_cache_and_from_the_table_before(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import tl_core.data as data
    from tl_core.data.builtin import builtin_cache_path

    monkeypatch.setenv("TL_DATA_DIR", str(tmp_path))
    split = lambda n: SimpleNamespace(labels=[0] * n)  # noqa: E731
    monkeypatch.setattr(data, "load_domain", lambda name, size: SimpleNamespace(
        train=split(70), val=split(20), test=split(10)))
    assert calibration.dataset_sizes("digits", 48) == calibration.BUILTIN_SIZES["digits"]  # not built: the table
    path = builtin_cache_path("digits", 48, tmp_path)
    path.parent.mkdir(parents=True)
    path.touch()
    assert calibration.dataset_sizes("digits", 48) == (70, 30)  # built at that size: what it holds


@pytest.fixture
def timings(monkeypatch):
    """No timed batches yet; `measure_pace_apart` answers from `paces` (one per timing) without a child process."""
    paces = []
    monkeypatch.setattr(calibration, "_measured", {})
    monkeypatch.setattr(calibration, "_measuring", {})
    monkeypatch.setattr(calibration, "_busy_timings", {})
    monkeypatch.setattr(calibration, "measure_pace_apart", lambda *key: paces.pop(0))
    return paces


def test_batches_are_timed_once_the_rest_of_the_machine_is_quiet(timings, monkeypatch):
    """A fresh server compiles UMAP for ~25 s: batches timed beside it made lesson 1's card promise 4 min for
    68 s. The first timing waits for a quiet machine."""
    samples = [False, False, True]
    monkeypatch.setattr(calibration, "machine_is_quiet", lambda sample_s=1.0: samples.pop(0))
    monkeypatch.setenv("TL_QUIET_WAIT_S", "60")
    timings.append(Pace(3000.0, None, 0))
    assert calibration.pace_for("small_cnn", 16, "cpu", wait=True).images_per_s == 3000.0
    assert samples == [] and calibration._busy_timings == {}


def test_a_timing_taken_on_a_busy_machine_is_taken_again_once_it_is_quiet(timings, monkeypatch):
    quiet = [False]
    monkeypatch.setattr(calibration, "machine_is_quiet", lambda sample_s=1.0: quiet[0])
    monkeypatch.setenv("TL_QUIET_WAIT_S", "0.01")
    timings.extend([Pace(1000.0, None, 0), Pace(3000.0, None, 0)])
    assert calibration.pace_for("small_cnn", 16, "cpu", wait=True).images_per_s == 1000.0  # waited, then timed
    assert ("small_cnn", 16, "cpu") in calibration._busy_timings
    monkeypatch.setattr(calibration, "RETIME_AFTER_S", 0.0)

    def settled():
        for thread in list(calibration._measuring.values()):
            thread.join()

    assert calibration.pace_for("small_cnn", 16, "cpu", wait=True).images_per_s == 1000.0  # still busy: kept
    settled()
    assert timings == [Pace(3000.0, None, 0)]  # not retimed on a busy machine
    quiet[0] = True
    assert calibration.pace_for("small_cnn", 16, "cpu", wait=True).images_per_s == 1000.0  # used while retiming
    settled()
    assert calibration.pace_for("small_cnn", 16, "cpu", wait=True).images_per_s == 3000.0
    assert calibration._busy_timings == {} and timings == []


def test_time_ahead_times_each_network_once_one_after_another(monkeypatch):
    timed = []
    monkeypatch.setattr(calibration, "measure_pace_apart",
                        lambda backbone, size, device: timed.append((backbone, size)) or Pace(100.0, None, 0))
    monkeypatch.setattr(calibration, "_measured", {("small_cnn", 16, "cpu"): Pace(50.0, None, 0)})
    monkeypatch.setattr(calibration, "_measuring", {})
    calibration.time_ahead([("small_cnn", 16), ("small_cnn_tiny", 16), ("small_cnn_wide", 16)], "cpu").join(30)
    assert timed == [("small_cnn_tiny", 16), ("small_cnn_wide", 16)]  # the one timed already is not timed again
    assert calibration._measured[("small_cnn_tiny", 16, "cpu")] == Pace(100.0, None, 0)
