"""One contract for every registered strategy (the idea of scikit-learn's `check_estimator`): it builds, learns
above chance on tiny data, its record round-trips, and nothing it does depends on the target-test labels."""
import pytest
import torch

from tl_core.records.run_dir import RunDir
from tl_core.records.run_view import RunView
from tl_core.records.store import RunStore
from tl_core.runs.config import RunConfig
from tl_core.runs.runner import run_config
from tl_core.strategies import strategy_names

CHANCE = 0.1  # ten digit classes


@pytest.fixture(scope="module")
def teacher_runs(tmp_path_factory, data_dir):
    """A finished run to teach the distill strategy, in its own runs folder (found through the run's store)."""
    runs = tmp_path_factory.mktemp("contract-runs")
    summary = run_config(_tiny("target-only"), runs)
    assert summary["status"] == "finished", summary.get("reason")
    return runs, summary["run_id"]


def _tiny(strategy: str, teacher: str = "") -> RunConfig:
    return RunConfig(source="digits", target="digits", backbone="small_cnn", weights="random", strategy=strategy,
                     freeze=0, labels_per_class=None, epochs=2, img_size=16, snapshot_size=0, device="cpu",
                     settings={"teacher": teacher} if strategy == "distill" else {})


@pytest.mark.slow
@pytest.mark.parametrize("strategy", strategy_names())
def test_every_strategy_keeps_the_contract(strategy, teacher_runs, monkeypatch, scramble_test_labels):
    runs, teacher = teacher_runs
    config = _tiny(strategy, teacher)
    summary = run_config(config, runs)
    assert summary["status"] == "finished", summary.get("reason")
    assert summary["target_acc"] > CHANCE + 0.1, f"{strategy} did not learn: {summary['target_acc']:.3f}"

    record = RunDir(runs / summary["run_id"])
    assert RunConfig.from_json(record.read_config().to_json()) == record.read_config()
    row = RunStore(runs).get(summary["run_id"])
    view = RunView.from_record(row, record)
    assert view.status == "finished" and len(view.history) == config.epochs
    assert view.config.strategy == strategy and view.target_acc == pytest.approx(summary["target_acc"])

    scramble_test_labels()
    blind = run_config(config, runs)
    assert blind["status"] == "finished", blind.get("reason")
    trained, again = record.load_weights(), RunDir(runs / blind["run_id"]).load_weights()
    assert trained.keys() == again.keys()
    assert all(torch.equal(trained[k], again[k]) for k in trained), \
        f"{strategy} trained differently when only the target-test labels changed"
    assert blind["val_acc"] == pytest.approx(summary["val_acc"])
