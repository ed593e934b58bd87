"""First-user defects, seen through AppTest: trying your own image, a new tab finding its context, the Runs
table's columns."""
import io
import time
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180


@pytest.fixture
def app_env(runs_dir, monkeypatch):
    monkeypatch.setenv("TL_WARM_UMAP", "0")
    st.cache_resource.clear()
    yield runs_dir
    st.cache_resource.clear()


def finished_pair(runs_dir: Path, owner: str, accs=(0.8, 0.6)) -> tuple[str, str]:
    """A finished main run and its baseline with saved (untrained) networks, recorded without training."""
    from tl_core.backbones import create_backbone
    from tl_core.baselines import baseline_for
    from tl_core.config import RunConfig
    from tl_core.model import TransferModel
    from tl_core.records.store import RunStore
    from tl_core.runner import prepare_run

    main = RunConfig(source="digits", target="digits", weights="source", strategy="fine-tune", freeze=0,
                     epochs=1, snapshot_size=0, role="main", experiment=f"pair:{owner}01",
                     name="fine-tune small_cnn · a name long enough to be truncated in a narrow table column")
    store, ids = RunStore(runs_dir), []
    for config, acc in ((main, accs[0]), (baseline_for(main).replace(experiment=main.experiment), accs[1])):
        run = prepare_run(config, runs_dir, owner=owner)
        torch_model = TransferModel(create_backbone("small_cnn", "random", 32), 10)
        run.save_weights(torch_model)
        run.write_json("evaluation.json", {"classes": [str(d) for d in range(10)]})
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
    main, baseline = finished_pair(app_env, "abcd1234")
    at = AppTest.from_file(str(ROOT / "pages/experiment.py"), default_timeout=TIMEOUT)
    at.query_params["me"] = "abcd1234"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["watch"] == {"run": main, "baseline": baseline}
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
