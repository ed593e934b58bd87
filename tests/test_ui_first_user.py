"""First-user defects, seen through AppTest: trying your own image, a new tab finding its context, the Runs
table's columns."""
import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tl_core.serving.owners import owner_id

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180


SECRET = "a-browser-secret-of-this-test-0123456789"
ME = owner_id(SECRET)


def finished_pair(runs_dir: Path, owner: str, accs=(0.8, 0.6), strategy: str = "fine-tune") -> tuple[str, str]:
    """A finished main run and its baseline with saved (untrained) networks, recorded without training."""
    from tl_core.backbones import create_backbone
    from tl_core.networks.model import TransferModel
    from tl_core.records.store import RunStore
    from tl_core.runs.baselines import baseline_for
    from tl_core.runs.config import RunConfig
    from tl_core.runs.runner import prepare_run

    main = RunConfig(source="digits", target="digits", weights="source", strategy=strategy, freeze=0,
                     epochs=1, snapshot_size=0, role="main", experiment=f"pair:{owner}{strategy[:2]}",
                     name="fine-tune small_cnn · a name long enough to be truncated in a narrow table column")
    store, ids = RunStore(runs_dir), []
    for config, acc in ((main, accs[0]), (baseline_for(main).replace(experiment=main.experiment), accs[1])):
        run = prepare_run(config, runs_dir, owner=owner)
        torch_model = TransferModel(create_backbone("small_cnn", "random", 32), 10)
        run.save_weights(torch_model)
        run.write_json("evaluation.json", {"classes": [str(d) for d in range(10)], "per_class_acc": [acc] * 10,
                                           "per_class_count": [5] * 10, "misclassified": [],
                                           "confusion": np.diag([5] * 10).tolist()})
        summary = {**run.read_summary(), "status": "finished", "target_acc": acc, "seconds": 75.0,
                   "created": time.time()}
        run.write_summary(summary)
        store.upsert(run.run_id, run.read_config(), summary, owner=owner)
        ids.append(run.run_id)
    return ids[0], ids[1]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_try_your_own_image_shows_both_networks_probabilities(app_env):
    main, baseline = finished_pair(app_env, ME)
    at = AppTest.from_file(str(ROOT / "pages/experiment.py"), default_timeout=TIMEOUT)
    at.session_state["owner_secret"] = SECRET  # this browser's cookie
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["watch"] == {"run": main, "baseline": baseline}
    at.session_state["try-source"] = "Upload"  # the Draw tab opens first
    at.file_uploader(key="try-upload").upload("seven.png", png(), "image/png").run()
    assert not at.exception, [e.value for e in at.exception]
    import json

    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    bars = next(f for f in figures if f["layout"].get("barmode") == "group")
    assert [t["name"] for t in bars["data"]] == ["with transfer", "without transfer"]
    for trace in bars["data"]:
        assert trace["x"] == [str(d) for d in range(10)] and sum(trace["y"]) == pytest.approx(1.0, abs=1e-4)
    assert any("with transfer: **" in m.value and "without transfer: **" in m.value for m in at.markdown)
    at.file_uploader(key="try-upload").upload("notes.png", b"not an image", "image/png").run()
    assert not at.exception and at.error and "cannot be read as an image" in at.error[0].value



def snapshot_of_its_network(runs_dir: Path, run_id: str) -> None:
    """The feature snapshot a finished run of `finished_pair` would have saved at its last epoch."""
    import torch

    from tl_core.data import load_domain
    from tl_core.networks.predict import load_run_model
    from tl_core.records.store import RunStore
    from tl_core.train.snapshots import SnapshotTaker, snapshot_path

    run = RunStore(runs_dir).run_dir(run_id)
    model, _, img_size = load_run_model(run.path)
    domain = load_domain("digits", img_size)
    SnapshotTaker(domain, domain, 60, 0, torch.device("cpu"), 64).take(model, snapshot_path(run.snapshots_dir, 1))


@pytest.mark.slow
def test_a_drawing_gets_both_networks_probabilities_and_a_star_on_both_maps(app_env):
    import base64

    main, baseline = finished_pair(app_env, ME)
    for run_id in (main, baseline):
        snapshot_of_its_network(app_env, run_id)
    at = AppTest.from_file(str(ROOT / "pages/experiment.py"), default_timeout=TIMEOUT)
    at.session_state["owner_secret"] = SECRET
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.label for t in at.tabs][-3:] == ["Draw", "Upload", "Camera"]
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith(("-try-probabilities", "-try-maps"))]
    at.session_state["try-draw"] = {"image": "data:image/png;base64," + base64.b64encode(png()).decode()}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    import json

    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any(f["layout"].get("barmode") == "group" for f in figures)
    stars = [t for f in figures for t in f["data"] if t.get("marker", {}).get("symbol") == "star"]
    assert len(stars) == 2 and all(t["text"] == ["<b>your image</b>"] for t in stars)
    maps = next(f for f in figures if any(t.get("marker", {}).get("symbol") == "star" for t in f["data"]))
    assert [a["text"] for a in maps["layout"]["annotations"]] == ["With transfer · epoch 1", "Without transfer · epoch 1"]
    assert any("PCA map" in c.value and "without transfer: predicted **" in c.value for c in at.caption)
    at.session_state["try-draw"] = {"image": "data:image/png;base64,bm90IGEgcG5n"}
    at.run()
    assert not at.exception and "press Clear and draw again" in at.error[0].value

def test_a_new_tab_opens_embeddings_on_the_user_s_latest_experiment_with_its_baseline(app_env):
    main, baseline = finished_pair(app_env, ME)
    at = AppTest.from_file(str(ROOT / "pages/embeddings.py"), default_timeout=TIMEOUT)
    at.session_state["owner_secret"] = SECRET  # this browser's cookie
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="emb-run").value == main and at.selectbox(key="emb-partner").value == baseline


def test_a_tab_reloaded_on_its_dann_run_fills_the_form_with_its_settings(app_env):
    main, _ = finished_pair(app_env, ME, strategy="dann")
    at = AppTest.from_file(str(ROOT / "pages/experiment.py"), default_timeout=TIMEOUT)
    at.session_state["owner_secret"] = SECRET  # this browser's cookie
    at.query_params["run"] = main  # the tab's URL names its run
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["x_strategy"] == "dann" and at.selectbox(key="x_strategy").value == "dann"
    assert at.session_state["x_epochs"] == 1


def test_the_runs_table_leads_with_time_owner_id_and_full_names_never_another_user_s_id(app_env):
    from tl_view.views import runs_table_rows

    mine, _ = finished_pair(app_env, ME)
    theirs, _ = finished_pair(app_env, "zzzz9999")
    at = AppTest.from_file(str(ROOT / "pages/runs.py"), default_timeout=TIMEOUT)
    at.session_state["owner_secret"] = SECRET  # this browser's cookie
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert list(table.columns[:7]) == ["started", "name", "status", "target acc", "time", "by", "run id"]
    by = dict(zip(table["run id"], table["by"]))
    assert by[mine] == "you" and by[theirs] == "another user"
    assert "zzzz9999" not in table.to_string()
    assert table["name"].str.endswith("truncated in a narrow table column").any() and "1 min 15 s" in set(table["time"])
    assert runs_table_rows([{"created": 0, "name": "", "status": "finished",
                             "target_acc": None, "seconds": None, "owner": "", "run_id": "r", "strategy": "scratch",
                             "backbone": "small_cnn", "source": "a", "target": "b", "weights": "random", "freeze": 0,
                             "labels_per_class": None, "epochs": 1}], ME)[0]["by"] == "command line"


def test_every_term_the_issue_found_unexplained_has_its_line_and_each_page_a_glossary(app_env):
    from tl_view import glossary

    for term in ("validation", "target", "proxy A-distance", "λ ramp steepness", "stem", "folds"):
        assert len(glossary.help_for(term)) > 20
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    for page in ("pages/experiment.py", "pages/domain_shift.py", "pages/lessons.py", "pages/feasibility.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert "What the words mean" in [e.label for e in at.expander], page


@pytest.mark.slow
def test_tabs_showing_the_same_runs_build_each_figure_once(app_env):
    """A live view redraws every second in every tab: the figures of unchanged data are reused, not rebuilt."""
    from tl_ui.figure_cache import figures_built

    finished_pair(app_env, ME)
    first = AppTest.from_file(str(ROOT / "pages/experiment.py"), default_timeout=TIMEOUT)
    first.session_state["owner_secret"] = SECRET
    first.run()
    assert not first.exception, [e.value for e in first.exception]
    built, specs = figures_built(), [c.proto.spec for c in first.get("plotly_chart")]
    assert built >= 3 and len(specs) >= 3  # learning curves, maps, domain confusion
    first.run()
    second = AppTest.from_file(str(ROOT / "pages/experiment.py"), default_timeout=TIMEOUT)
    second.session_state["owner_secret"] = SECRET  # another tab of the same browser
    second.run()
    assert figures_built() == built
    assert [c.proto.spec for c in first.get("plotly_chart")] == specs == [c.proto.spec for c in second.get("plotly_chart")]
