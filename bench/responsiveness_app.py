"""The server side of bench/responsiveness.py: a page that watches a run the way the Experiment page does (a
fragment redrawn every second: progress, time left, learning curves). The run executes in this server's own
JobManager; the first page opened with ?start=1 submits it ($TL_BENCH_CONFIG, a RunConfig as JSON)."""
import os
import sys
from pathlib import Path

import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tl_core.config import RunConfig  # noqa: E402
from tl_core.jobs import JobManager  # noqa: E402


@st.cache_resource
def manager() -> JobManager:
    return JobManager(os.environ["TL_RUNS_DIR"])


@st.cache_resource
def start() -> str:
    return manager().submit(RunConfig.from_json(os.environ["TL_BENCH_CONFIG"]), owner="bench")


if st.query_params.get("start"):
    start()


@st.fragment(run_every=1)
def live() -> None:
    rows = manager().store.list(limit=1)
    view = manager().view(rows[0]["run_id"]) if rows else None
    if view is None:
        st.caption("waiting for the run")
        return
    st.progress(view.step / view.total_steps if view.total_steps else 0.0, text=view.message or view.stage)
    eta = "" if view.eta_seconds is None else f"{view.eta_seconds:.1f}"
    st.caption(f"status={view.status} step={view.step} total={view.total_steps} eta={eta}")
    if view.history:
        st.line_chart(pd.DataFrame(view.history).set_index("epoch")[["train_acc", "val_acc", "target_acc"]])


live()
