"""Every page under Streamlit's AppTest: renders without an exception, trains a tiny run from the Experiment
page, and answers bad input with a message instead of a traceback."""
import json
import time
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ["pages/experiment.py", "pages/embeddings.py", "pages/domain_shift.py", "pages/runs.py"]
TIMEOUT = 180  # the first script run imports torch, timm and sklearn (slow on a busy 2-core machine)


@pytest.fixture
def app_env(runs_dir, monkeypatch):
    """A fresh job manager per test (st.cache_resource is process-wide), runs in a temporary folder."""
    monkeypatch.setenv("TL_WARM_UMAP", "0")  # no test draws UMAP: skip its 25-s JIT warm-up
    st.cache_resource.clear()
    st.cache_data.clear()
    yield runs_dir
    st.cache_resource.clear()
    st.cache_data.clear()


def open_app(page: str | None = None) -> AppTest:
    """The app through app.py's navigation (then, optionally, another page)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(page).run()
    return at


def open_page(page: str) -> AppTest:
    """One page as the script, for tests that touch widgets. (AppTest forgets between runs that app.py called
    st.navigation, so its reruns run a page straight from pages/, where tl_ui.nav.page_guard draws the same
    frame; widget ids differ between those two kinds of run, which would reset the widgets on the first click.)"""
    return AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT).run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def trace(figures: list[dict], name: str) -> dict:
    for fig in figures:
        for t in fig["data"]:
            if t.get("name") == name:
                return t
    raise AssertionError(f"no trace {name!r} in {[t.get('name') for f in figures for t in f['data']]}")


def record_runs(runs_dir: Path) -> dict:
    """A finished with/without-transfer pair and a DANN run, recorded the way the CLI records them."""
    from tl_core.runs.baselines import baseline_for
    from tl_core.runs.config import RunConfig
    from tl_core.runs.runner import run_config

    tiny = RunConfig(source="digits", target="digits-m", backbone="small_cnn", weights="source", freeze=1,
                     labels_per_class=10, epochs=2, pretrain_epochs=1, snapshot_size=60, device="cpu",
                     role="main", experiment="pair:test0001")
    ids = {}
    for key, config in (("with", tiny), ("without", baseline_for(tiny)),
                        ("dann", tiny.replace(strategy="dann", experiment="", epochs=1))):
        summary = run_config(config, runs_dir)
        assert summary["status"] == "finished", summary.get("reason")
        ids[key] = summary["run_id"]
    return ids


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_no_runs(app_env, page):
    at = open_app(page)
    assert_clean(at)
    assert not at.error


@pytest.mark.slow
def test_every_page_renders_with_recorded_runs(app_env):
    ids = record_runs(app_env)
    at = open_app()
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at)
        assert not at.error, [e.value for e in at.error]
    # the Runs page shows the newest run in detail: curves, per-class accuracy, confusion matrix, downloads
    at = open_page("pages/runs.py")
    assert_clean(at)
    figures = charts(at)
    assert any(f["data"][0].get("type") == "heatmap" for f in figures)
    assert {b.label for b in at.get("download_button")} >= {"Metrics (CSV)", "Config (JSON)", "Weights (.safetensors)"}
    # "Open in Experiment" watches the newest run (DANN) and fills the form with its settings (AppTest does
    # not follow st.switch_page when a page is the main script; the browser check does)
    at.button(key="runs-open").click().run()
    assert_clean(at)
    assert at.session_state["watch"]["run"] == ids["dann"]
    assert at.session_state["x_strategy"] == "dann" and at.session_state["x_epochs"] == 1
    # Embeddings: the run next to its own 'without transfer' twin, one animation frame per snapshot
    at = open_page("pages/embeddings.py")
    at.selectbox(key="emb-run").set_value(ids["with"]).run()
    assert_clean(at)
    assert at.selectbox(key="emb-partner").value == ids["without"]
    maps = [f for f in charts(at) if f.get("frames")]
    assert maps and [fr["name"] for fr in maps[0]["frames"]] == ["before", "1", "2"]


def train_tiny_pair(snapshot_size: int, forgetting: bool = False) -> AppTest:
    """Train digits → digits-m for 2 epochs from the Experiment page, with its twin, and poll until both finish."""
    at = open_page("pages/experiment.py")
    at.selectbox(key="x_source").set_value("digits")
    at.selectbox(key="x_target").set_value("digits-m")
    at.number_input(key="x_epochs").set_value(2)
    at.number_input(key="x_pretrain_epochs").set_value(1)
    at.number_input(key="x_snapshot_size").set_value(snapshot_size)
    if forgetting:
        at.checkbox(key="x_measure_forgetting").check()
    at.run()
    at.button(key="train").click().run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    watch = at.session_state["watch"]
    assert watch["run"] and watch["baseline"]
    deadline = time.time() + 400
    while time.time() < deadline:
        at.run()  # AppTest does not fire run_every timers: each run() is one poll
        assert_clean(at)
        if sum("Finished" in c.value for c in at.caption) == 2:
            return at
        time.sleep(1)
    pytest.fail(f"the runs did not finish: {[c.value for c in at.caption]}")


@pytest.mark.slow
def test_a_tiny_run_from_the_experiment_page_completes_with_its_curves(app_env):
    at = train_tiny_pair(snapshot_size=60)
    watch = at.session_state["watch"]
    figures = charts(at)
    with_target = trace(figures, "with transfer · target")
    without_target = trace(figures, "without transfer · target")
    assert with_target["x"] == [1, 2] and len(without_target["y"]) == 2
    assert all(0.0 <= y <= 1.0 for y in with_target["y"])
    assert trace(figures, "without transfer · target")["line"]["dash"] == "dash"
    # domain-confusion accuracy before training (epoch 0, the network it starts from) and after each epoch
    assert trace(figures, "with transfer")["x"] == [0, 1, 2]
    # a reloaded tab (fresh session, the same secret from the browser's cookie) finds the same runs again
    again = AppTest.from_file(str(ROOT / "pages/experiment.py"), default_timeout=TIMEOUT)
    again.session_state["owner_secret"] = at.session_state["owner_secret"]
    again.run()
    assert again.session_state["watch"]["run"] == watch["run"]


@pytest.mark.slow
def test_a_run_that_measures_forgetting_draws_task_a_over_its_epochs(app_env):
    """Lesson 10's measure on the Experiment page: ticked, the run scores task A before and after every epoch and
    once more with A's own BatchNorm statistics; its scratch twin, with no task A, still trains."""
    at = train_tiny_pair(snapshot_size=0, forgetting=True)
    task_a = [f for f in charts(at)
              if f["layout"].get("title", {}).get("text") == "Task A accuracy while learning this task"]
    assert len(task_a) == 1 and [t["name"] for t in task_a[0]["data"]] == ["with transfer"]
    assert task_a[0]["data"][0]["x"] == [0, 1, 2] and all(0 <= y <= 1 for y in task_a[0]["data"][0]["y"])
    assert any("with A's own BatchNorm statistics re-estimated" in c.value for c in at.caption)


def _folder(root: Path, classes: list[str]) -> Path:
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def test_dann_with_a_target_whose_classes_the_source_lacks_shows_an_error(app_env, tmp_path, monkeypatch):
    _folder(tmp_path / "pets", ["cat", "dog"])
    monkeypatch.setenv("TL_DATA_ROOT", str(tmp_path))  # the browser names folders under the data root
    at = open_page("pages/experiment.py")
    at.selectbox(key="x_target").set_value("folder:").run()
    at.text_input(key="x_target_folder").input("pets")
    at.selectbox(key="x_strategy").set_value("dann").run()
    at.button(key="train").click().run()
    assert_clean(at)
    assert any("lacks" in e.value and "cat" in e.value for e in at.error), [e.value for e in at.error]
    assert "watch" not in at.session_state  # nothing was queued


def test_forgetting_can_be_asked_only_of_a_network_that_learned_task_a(app_env):
    at = open_page("pages/experiment.py")
    assert not at.checkbox(key="x_measure_forgetting").disabled  # the defaults start from the source network
    at.radio(key="x_weights").set_value("random").run()
    assert at.checkbox(key="x_measure_forgetting").disabled
    at.radio(key="x_weights").set_value("source").run()
    at.selectbox(key="x_strategy").set_value("scratch").run()  # scratch ignores the weights
    assert at.checkbox(key="x_measure_forgetting").disabled
    assert_clean(at)


def test_choosing_dann_brings_its_own_learning_rate_and_back(app_env):
    from tl_core.runs.config import RunConfig
    from tl_core.strategies import strategy_class

    at = open_page("pages/experiment.py")
    at.selectbox(key="x_strategy").set_value("dann").run()
    assert at.number_input(key="x_lr").value == strategy_class("dann").default_lr
    assert any("SGD" in c.value for c in at.caption)
    at.selectbox(key="x_strategy").set_value("fine-tune").run()
    assert at.number_input(key="x_lr").value == RunConfig().lr
    assert_clean(at)


def test_choosing_dann_brings_the_length_selected_for_the_pair_and_a_typed_length_stays(app_env):
    from tl_core.runs.config import RunConfig
    from tl_core.strategies import strategy_class

    selected = strategy_class("dann").selected_epochs
    at = open_page("pages/experiment.py")
    pair = (at.selectbox(key="x_source").value, at.selectbox(key="x_target").value)
    assert pair in selected and selected[pair] != RunConfig().epochs
    at.selectbox(key="x_strategy").set_value("dann").run()
    assert at.number_input(key="x_epochs").value == selected[pair]
    assert any("without target labels" in c.value for c in at.caption)
    at.selectbox(key="x_source").set_value("digits").run()  # another selected pair: its own length
    assert at.number_input(key="x_epochs").value == selected[("digits", "digits-m")]
    at.selectbox(key="x_target").set_value("digits").run()  # digits → digits: no length was selected
    assert at.number_input(key="x_epochs").value == RunConfig().epochs
    at.selectbox(key="x_target").set_value("digits-m").run()
    at.selectbox(key="x_strategy").set_value("fine-tune").run()  # leaving DANN: its length goes too
    assert at.number_input(key="x_epochs").value == RunConfig().epochs
    at.number_input(key="x_epochs").set_value(5).run()
    at.selectbox(key="x_target").set_value("digits").run()  # a length the user typed is theirs
    assert at.number_input(key="x_epochs").value == 5
    assert_clean(at)


def test_a_missing_folder_shows_an_error(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("TL_DATA_ROOT", str(tmp_path))
    at = open_page("pages/experiment.py")
    at.selectbox(key="x_source").set_value("folder:").run()
    at.text_input(key="x_source_folder").input("nowhere").run()
    at.button(key="train").click().run()
    assert_clean(at)
    messages = [e.value for e in at.error] + [c.value for c in at.caption]
    assert any("nowhere" in m for m in messages), messages


def test_choosing_dann_brings_the_settings_selected_for_the_pair_and_a_typed_setting_stays(app_env):
    from tl_core.strategies import strategy_class

    depth_key = "x_set-dann-depth"
    default = strategy_class("dann").Settings().depth
    at = open_page("pages/experiment.py")
    pair = (at.selectbox(key="x_source").value, at.selectbox(key="x_target").value)
    chosen = strategy_class("dann").selected_settings[pair]["depth"]
    assert chosen != default
    at.selectbox(key="x_strategy").set_value("dann").run()
    assert at.number_input(key=depth_key).value == chosen
    at.selectbox(key="x_source").set_value("digits").run()  # digits → digits-m: nothing selected but the length
    assert at.number_input(key=depth_key).value == default
    at.selectbox(key="x_source").set_value(pair[0]).run()
    assert at.number_input(key=depth_key).value == chosen
    at.number_input(key=depth_key).set_value(3).run()
    at.selectbox(key="x_source").set_value("digits").run()  # a depth the user typed is theirs
    assert at.number_input(key=depth_key).value == 3
    assert_clean(at)


def test_a_config_with_a_freeze_depth_beyond_the_backbone_shows_an_error(app_env):
    from tl_core.runs.config import RunConfig

    at = open_page("pages/experiment.py")
    bad = RunConfig(backbone="small_cnn", freeze=9).to_json().encode()
    at.file_uploader(key="x_config_file").set_value(("config.json", bad, "application/json")).run()
    assert_clean(at)
    assert any("Freeze depth 9 is beyond small_cnn" in e.value for e in at.error), [e.value for e in at.error]
    good = RunConfig(backbone="small_cnn", freeze=2, epochs=7, strategy="linear-probe").to_json().encode()
    at.file_uploader(key="x_config_file").set_value(("config.json", good, "application/json")).run()
    assert_clean(at)
    assert at.number_input(key="x_epochs").value == 7 and at.selectbox(key="x_strategy").value == "linear-probe"


def test_a_server_started_with_an_executor_it_cannot_use_says_so_on_the_page(app_env, monkeypatch):
    monkeypatch.setenv("TL_EXECUTOR", "carrier-pigeon")
    at = open_page("pages/runs.py")
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "Unknown executor 'carrier-pigeon'" in at.error[0].value
