"""The engine end to end on tiny built-in data: strategies learn, records round-trip, runs end cleanly."""
import json
import os
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tl_core.records.run_dir import RunDir
from tl_core.records.store import RunStore
from tl_core.runs.config import RunConfig
from tl_core.runs.runner import run_config
from tl_core.train.events import EpochEnd, RunEnded, RunStarted, Step


def test_config_round_trips_through_json():
    config = RunConfig(strategy="linear-probe", labels_per_class=None, settings={"cache_features": False})
    assert RunConfig.from_json(config.to_json()) == config


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["scratch", "linear-probe", "fine-tune"])
def test_each_strategy_learns_above_chance(tiny, runs_dir, strategy):
    weights = "random" if strategy == "scratch" else "source"  # random features of a frozen net are near-constant
    config = tiny.replace(source="digits-m", target="digits", strategy=strategy, weights=weights, epochs=3)
    summary = run_config(config, runs_dir)
    assert summary["status"] == "finished", summary["reason"]
    assert summary["target_acc"] > 0.3  # chance is 0.1


@pytest.mark.slow
def test_run_directory_round_trips(tiny, runs_dir):
    events = []
    summary = run_config(tiny, runs_dir, subscribers=[events.append])
    summary_path = Path(summary["run_dir"])
    run = RunDir(summary_path)
    assert run.read_config().to_dict() == {**tiny.to_dict(), "freeze": 0}
    metrics = run.read_metrics()
    assert [m["epoch"] for m in metrics] == [1, 2]
    assert metrics[-1]["target_acc"] == pytest.approx(summary["target_acc"])
    assert run.read_summary()["status"] == "finished"
    assert set(load_file(str(summary_path / "model.safetensors"))) >= {"head.weight", "head.bias"}
    evaluation = run.read_json("evaluation.json")
    assert len(evaluation["confusion"]) == 10
    assert sum(map(sum, evaluation["confusion"])) == sum(evaluation["per_class_count"])
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and kinds[-1] is RunEnded and kinds.count(EpochEnd) == 2
    assert 0.0 <= summary["domain_confusion_acc"] <= 1.0 and 0.0 <= summary["a_distance"] <= 2.0
    row = RunStore(runs_dir).get(summary["run_id"])
    assert row["status"] == "finished" and row["target_acc"] == pytest.approx(summary["target_acc"])


@pytest.mark.slow
def test_seeded_runs_are_reproducible_on_cpu(tiny, runs_dir):
    first = run_config(tiny, runs_dir)
    second = run_config(tiny, runs_dir)
    assert first["target_acc"] == second["target_acc"]
    assert RunDir(Path(first["run_dir"])).read_metrics()[-1]["train_loss"] == pytest.approx(
        RunDir(Path(second["run_dir"])).read_metrics()[-1]["train_loss"], rel=1e-6)


@pytest.mark.slow
def test_a_run_from_source_weights_repeats_exactly_whether_its_network_was_cached_or_not(tiny, runs_dir):
    """The first run of a seed pretrains its source network (and the first in a process builds a throwaway
    backbone to key the cache); neither may move the new head's initial weights or DANN's dropout masks."""
    from tl_core.networks import pretrain

    pretrain._parameter_shapes.cache_clear()
    config = tiny.replace(strategy="dann", weights="source", seed=7341, epochs=1, img_size=16, snapshot_size=0)
    cold = run_config(config, runs_dir)
    assert cold["status"] == "finished", cold["reason"]
    warm = run_config(config, runs_dir)
    assert warm["target_acc"] == cold["target_acc"]
    heads = [load_file(str(Path(s["run_dir"]) / "model.safetensors"))["head.weight"] for s in (cold, warm)]
    assert torch.equal(*heads)


def test_stop_takes_effect_within_one_batch(tiny, runs_dir):
    stop = threading.Event()
    steps = []

    def stop_after_first_step(event):
        if isinstance(event, Step):
            steps.append(event)
            stop.set()

    summary = run_config(tiny, runs_dir, subscribers=[stop_after_first_step], stop=stop)
    assert summary["status"] == "stopped"
    assert len(steps) == 1


def test_a_nan_loss_ends_the_run_as_diverged(tiny, runs_dir, monkeypatch):
    from tl_core.strategies.base import Strategy

    original = Strategy.loss

    def nan_loss(self, model, batch, progress):
        out = original(self, model, batch, progress)
        out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(Strategy, "loss", nan_loss)
    summary = run_config(tiny, runs_dir)
    assert summary["status"] == "diverged"
    assert "step 0" in summary["reason"] and "learning rate" in summary["hint"]
    assert RunDir(Path(summary["run_dir"])).read_summary()["status"] == "diverged"


@pytest.mark.slow
def test_source_weights_transfer_and_frozen_groups_stay_put(tiny, runs_dir):
    config = tiny.replace(source="digits", target="digits-m", weights="source", freeze=2)
    summary = run_config(config, runs_dir)
    assert summary["status"] == "finished", summary["reason"]
    from tl_core.networks.pretrain import checkpoint_path

    source = load_file(str(checkpoint_path(config)))
    trained = load_file(str(Path(summary["run_dir"]) / "model.safetensors"))
    from tl_core.backbones import create_backbone, layer_groups

    frozen_modules = [m for g in layer_groups(create_backbone("small_cnn"))[:2] for m in g.module_names]
    frozen_keys = [k for k in trained if k.startswith("backbone.") and any(
        k[len("backbone."):].startswith(m + ".") for m in frozen_modules)]
    assert frozen_keys
    for key in frozen_keys:
        assert torch.equal(trained[key], source[key]), key
    later = [k for k in trained if k.startswith("backbone.") and k not in frozen_keys and k.endswith("weight")]
    assert any(not torch.equal(trained[k], source[k]) for k in later)


def test_cli_train_prints_a_summary_json_line(tiny, runs_dir, capsys):
    from tl_core.cli import main

    code = main(["train", "--source", "digits", "--target", "digits", "--weights", "random", "--strategy",
                 "linear-probe", "--epochs", "1", "--labels-per-class", "5", "--snapshot-size", "0",
                 "--runs-dir", str(runs_dir), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"status", "target_acc", "val_acc", "device", "seconds", "run_dir"} <= set(summary)
    assert summary["status"] == "finished"


def test_runs_differing_only_in_learning_rate_share_one_source_network(tiny):
    """Task A is pretrained at scratch's rate whatever the run's lr, so DANN (SGD, 0.01) and source-only (AdamW,
    3e-3) start from the same network."""
    from tl_core.networks.pretrain import checkpoint_path

    config = tiny.replace(weights="source")
    assert checkpoint_path(config) == checkpoint_path(config.replace(lr=0.01, strategy="dann"))
    assert checkpoint_path(config) != checkpoint_path(config.replace(pretrain_epochs=config.pretrain_epochs + 1))


def test_cli_learning_rate_defaults_to_the_strategys_own():
    from tl_core.cli import _config, _parser
    from tl_core.strategies import strategy_class

    assert _config(_parser().parse_args(["train", "--strategy", "dann"])).lr == strategy_class("dann").default_lr
    assert _config(_parser().parse_args(["train", "--strategy", "scratch"])).lr == RunConfig().lr
    assert _config(_parser().parse_args(["train", "--strategy", "dann", "--lr", "0.2"])).lr == 0.2


def test_cli_epochs_default_to_the_length_selected_for_the_strategy_on_the_pair():
    from tl_core.cli import _config, _parser
    from tl_core.strategies import strategy_class

    def epochs(*args: str) -> int:
        return _config(_parser().parse_args(["train", *args])).epochs

    selected = strategy_class("dann").selected_epochs
    assert epochs("--strategy", "dann", "--source", "synth-digits", "--target", "digits-m") == \
        selected[("synth-digits", "digits-m")]
    assert epochs("--strategy", "dann", "--source", "digits", "--target", "digits-m") == \
        selected[("digits", "digits-m")]
    assert epochs("--strategy", "dann", "--source", "synth-digits", "--target", "digits") == RunConfig().epochs
    assert epochs("--strategy", "fine-tune", "--source", "synth-digits", "--target", "digits-m") == RunConfig().epochs
    assert epochs("--strategy", "dann", "--source", "digits", "--target", "digits-m", "--epochs", "4") == 4


def test_cli_settings_default_to_those_selected_for_the_strategy_on_the_pair_and_set_wins():
    from tl_core.cli import _config, _parser
    from tl_core.strategies import strategy_class

    def settings(*args: str) -> dict:
        return _config(_parser().parse_args(["train", "--strategy", "dann", *args])).settings

    chosen = strategy_class("dann").selected_settings[("synth-digits", "digits-m")]
    assert chosen and settings("--source", "synth-digits", "--target", "digits-m") == chosen
    assert settings("--source", "digits", "--target", "digits-m") == {}
    assert settings("--source", "synth-digits", "--target", "digits-m", "--set", "depth=3")["depth"] == 3


@pytest.mark.parametrize("args, words", [
    (["--source", "nope"], "Unknown source dataset"),
    (["--freeze", "99"], "Freeze depth 99"),
    (["--epochs", "-1"], "epochs must be"),
    (["--strategy", "magic"], "Unknown strategy"),
    (["--labels-per-class", "many"], "labels per class"),
    (["--set", "lr_decay=7"], "lr_decay"),
])
def test_cli_bad_values_exit_2_with_one_line(runs_dir, capsys, args, words):
    from tl_core.cli import main

    code = main(["train", "--runs-dir", str(runs_dir), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and words in err
    assert not any(runs_dir.glob("*/config.json"))





def _open_store_after(barrier, path: str, errors) -> None:
    barrier.wait()
    try:
        RunStore(path).list()
    except Exception as err:  # noqa: BLE001  (reported to the test)
        errors.put(repr(err))


def test_processes_opening_a_new_run_index_at_once_all_succeed(tmp_path):
    """Parallel workers (bench, CLI next to the dashboard) may create the SQLite index at the same moment."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    barrier, errors = ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=_open_store_after, args=(barrier, str(tmp_path / "runs"), errors)) for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert errors.empty()
    assert [p.exitcode for p in procs] == [0] * 8


def test_the_network_runs_channels_last_and_computes_what_the_default_layout_does(tmp_path):
    """TransferModel keeps its kernels channels-last (faster on a CPU, bench/layout.py): the outputs and gradients
    are the default layout's to float rounding, and its weights save and load like any others."""
    from tl_core.backbones import create_backbone
    from tl_core.networks.model import TransferModel

    torch.manual_seed(0)
    model = TransferModel(create_backbone("small_cnn", "random", 32), 10)
    default = TransferModel(create_backbone("small_cnn", "random", 32), 10).to(memory_format=torch.contiguous_format)
    default.load_state_dict(model.state_dict())
    kernels = [p for p in model.parameters() if p.ndim == 4]
    assert kernels and all(p.is_contiguous(memory_format=torch.channels_last) for p in kernels)
    assert not default.backbone.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(16) % 10
    assert model.backbone.forward_features(model.normalise(images)).is_contiguous(memory_format=torch.channels_last)
    for net in (model, default):
        torch.nn.functional.cross_entropy(net(images), labels).backward()
    torch.testing.assert_close(model(images), default(images), rtol=1e-4, atol=1e-5)
    for mine, theirs in zip(model.parameters(), default.parameters()):
        torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-3, atol=1e-5)
    run = RunDir(tmp_path)
    run.save_weights(model)
    restored = TransferModel(create_backbone("small_cnn", "random", 32), 10)
    restored.load_state_dict(load_file(run.weights_path))
    torch.testing.assert_close(restored(images), model(images))


def test_runs_train_in_bf16_where_the_cpu_has_it_and_it_pays_and_in_fp32_otherwise_or_when_told(tiny, runs_dir,
                                                                                             monkeypatch):
    """bf16 autocast on a CPU that multiplies bf16 in hardware where it was timed faster on this boot (a training
    step 1.28× faster on one host, bench/layout.py); fp32 where bf16 would be emulated, where it was timed slower,
    or with TL_FULL_PRECISION=1. The run's device name says which; the weights it saves stay fp32."""
    from tl_core.machine import device as machine

    cpu = torch.device("cpu")
    monkeypatch.setattr(machine, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(machine, "bf16_is_faster_here", lambda: True)
    assert machine.autocast_dtype(cpu) == torch.bfloat16
    with machine.mixed_precision(cpu):
        assert torch.nn.Linear(4, 2)(torch.ones(1, 4)).dtype == torch.bfloat16
    summary = run_config(tiny, runs_dir)
    assert summary["status"] == "finished" and summary["device_name"].endswith("bf16 mixed precision")
    assert {t.dtype for t in load_file(RunDir(Path(summary["run_dir"])).weights_path).values()
            if t.is_floating_point()} == {torch.float32}
    monkeypatch.setenv("TL_FULL_PRECISION", "1")
    assert machine.autocast_dtype(cpu) is None and "mixed" not in machine.device_name(cpu)
    with machine.mixed_precision(cpu):
        assert torch.nn.Linear(4, 2)(torch.ones(1, 4)).dtype == torch.float32
    monkeypatch.delenv("TL_FULL_PRECISION")
    monkeypatch.setattr(machine, "bf16_is_faster_here", lambda: False)
    assert machine.autocast_dtype(cpu) is None and machine.device_name(cpu) == f"CPU ({os.cpu_count()} cores)"
    monkeypatch.setattr(machine, "bf16_is_faster_here", lambda: pytest.fail("timed on a CPU without bf16"))
    monkeypatch.setattr(machine, "cpu_has_native_bf16", lambda: False)
    assert machine.autocast_dtype(cpu) is None and machine.device_name(cpu) == f"CPU ({os.cpu_count()} cores)"
