"""Streamlit pieces the pages share: the sidebar, run pickers, strategy settings, charts with downloads."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from tl_core.runs.config import config_schema
from tl_core.runs.status import Status
from tl_ui import state
from tl_ui.figure_cache import recent
from tl_view import confusion_null, fmt
from tl_view.charts import figure_html
from tl_view.forms import FieldSpec, changed_settings, clamped_setting, settings_fields
from tl_view.views import run_name

CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
                "toImageButtonOptions": {"format": "png", "scale": 2}}
STATUS_ICON = {Status.QUEUED: ":material/hourglass_top:", Status.RUNNING: ":material/play_circle:",
               Status.FINISHED: ":material/check_circle:", Status.STOPPED: ":material/stop_circle:",
               Status.FAILED: ":material/error:", Status.DIVERGED: ":material/trending_up:",
               Status.OUT_OF_MEMORY: ":material/memory:", Status.INTERRUPTED: ":material/warning:",
               Status.UNKNOWN: ":material/help:"}


@st.cache_resource(show_spinner=False)
def _device_text() -> tuple[str, bool]:
    from tl_core.machine.device import device_name, pick_device

    device = pick_device("auto")
    return device_name(device), device.type != "cpu"


def sidebar() -> None:
    """Device, queue and the UMAP warm-up: what a shared server's users need to know at a glance."""
    name, accelerated = _device_text()
    with st.sidebar:
        if accelerated:
            st.success(f"**Device:** {name}", icon=":material/bolt:")
        else:
            st.info("**CPU — training will be slower.**  \nEach page estimates its runs' time from this server's "
                    "measured speed.",
                    icon=":material/memory:")
        _queue_box()


@st.fragment(run_every=5)  # in every tab of a class: ten reruns a second at 3 s
def _queue_box() -> None:
    manager = state.manager()
    views = recent(("queue", id(manager)), 1.0, lambda: [  # read once a second for every tab
        (v.status, v.owner) for v in map(manager.view, manager.active_ids()) if v is not None])
    running = sum(1 for status, _ in views if status is Status.RUNNING)
    queued = sum(1 for status, _ in views if status is Status.QUEUED)
    me = st.session_state.get("owner")
    mine = sum(1 for _, owner in views if owner == me)
    slots = manager.slots
    text = f"**Queue:** {running} running · {queued} waiting  \n{slots} run{'s' if slots != 1 else ''} at a time"
    if mine:
        text += f" · {mine} of them yours"
    st.caption(text)
    warm = state.umap_warmup()
    if not warm.done.is_set():
        st.caption("UMAP is getting ready (about half a minute, once per server start); maps use PCA until then.")


def error(err: Exception | str) -> None:
    """A user error as one short message saying what to do — never a traceback."""
    st.error(str(err), icon=":material/error:")


def chart(fig: go.Figure, key: str, *, download: str | None = None, **kwargs) -> Any:
    """A plotly chart with a stable key (and an optional HTML download; plotly's modebar gives the PNG)."""
    config = CHART_CONFIG
    if "box" in kwargs.get("selection_mode", ()) or "lasso" in kwargs.get("selection_mode", ()):
        config = {**CHART_CONFIG, "modeBarButtonsToRemove": ["autoScale2d"]}  # keep the box and lasso tools
    event = st.plotly_chart(fig, key=key, width="stretch", config=config, **kwargs)
    if download:
        st.download_button("⬇ Chart as HTML", data=lambda: figure_html(fig, download), file_name=f"{download}.html",
                           mime="text/html", key=f"{key}-html", on_click="ignore", type="tertiary")
    return event


def run_label(row: dict) -> str:
    """'14:03 · fine-tune · synth-digits → digits · 83.1%' — enough to tell runs apart in a picker."""
    acc = row.get("target_acc")
    name, cap = run_name(row), config_schema()["name"].max_chars  # older runs' names were not capped
    name = name if len(name) <= cap else name[:cap - 1] + "…"
    parts = [fmt.when(row.get("created")), name,
             f"{row.get('source')} → {row.get('target')}", row.get("backbone")]
    status = row.get("status")
    parts.append(fmt.pct(acc) if status == Status.FINISHED and acc is not None else status)
    return " · ".join(str(p) for p in parts if p)


def setting_key(key: str, strategy: str, name: str) -> str:
    """The session key of the widget `settings_inputs(strategy, key)` draws for setting `name`."""
    return f"{key}-{strategy}-{name}"


def settings_inputs(strategy: str, key: str, teacher_rows: Callable[[], list[dict]] | None = None) -> dict:
    """Widgets for a strategy's Settings dataclass (bounds and help as its fields declare them); returns the
    settings that differ from the defaults."""
    from tl_core.strategies import strategy_class

    specs = settings_fields(strategy_class(strategy).Settings)
    values = {}
    for spec in specs:
        values[spec.name] = _setting_input(spec, setting_key(key, strategy, spec.name), teacher_rows)
    return changed_settings(specs, values)


def _setting_input(spec: FieldSpec, key: str, teacher_rows) -> Any:
    backup = st.session_state.get(state.FORM_BACKUP, {})
    if key not in st.session_state and key in backup:  # back from another page
        st.session_state[key] = backup[key]
    if spec.name == "teacher" and teacher_rows is not None:
        rows = teacher_rows()
        options = [""] + [r["run_id"] for r in rows]
        labels = {r["run_id"]: run_label(r) for r in rows}
        return st.selectbox("Teacher run", options, index=0, key=key, help=spec.help or "A finished run whose model teaches.",
                            format_func=lambda rid: labels.get(rid, "choose a finished run…"))
    if spec.kind == "bool":
        return st.checkbox(spec.label, bool(spec.default), key=key, help=spec.help)
    if spec.kind in ("int", "float"):
        return _number_input(spec, key)
    return st.text_input(spec.label, str(spec.default), key=key, help=spec.help)


def _number_input(spec: FieldSpec, key: str) -> int | float:
    """A number input bounded by the setting's declared range; a value from an older run beyond it is moved
    inside, and the form says so."""
    cast = int if spec.kind == "int" else float
    current = st.session_state.get(key)
    if isinstance(current, (int, float)) and clamped_setting(spec, current) != current:
        st.session_state[key] = cast(clamped_setting(spec, current))
        st.warning(f"{spec.label} {current} is beyond the range {spec.low:g}–{spec.high:g}: set to "
                   f"{st.session_state[key]}.", icon=":material/info:")
    options = {"step": 1} if spec.kind == "int" else {"format": "%g", "step": _float_step(spec.default)}
    return cast(st.number_input(spec.label, min_value=cast(spec.low), max_value=cast(spec.high),
                                value=cast(spec.default), key=key, help=spec.help, **options))


def _float_step(default: float) -> float:
    """A step one digit below the default's leading digit (10.0 → 1.0, 256.0 → 10.0), 0.05 below 1."""
    return float(10 ** (len(str(int(abs(default)))) - 2)) if abs(default) >= 1 else 0.05


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=str).encode()


def pick_runs(rows: Sequence[dict], label: str, key: str, default: Sequence[str] = (), help: str | None = None,
              max_selections: int | None = None) -> list[str]:
    labels = {r["run_id"]: run_label(r) for r in rows}
    default = [d for d in default if d in labels]
    return st.multiselect(label, list(labels), default=default, key=key, help=help,
                          format_func=lambda rid: labels.get(rid, rid), max_selections=max_selections)


def redraw_when_bands_are_ready() -> None:
    """On a page that does not redraw by itself: while a no-shift band it drew without is being computed, check
    every 2 s, then redraw the whole page once, with the band (and no timer)."""
    if not confusion_null.computing():
        return

    @st.fragment(run_every=2)
    def waiting() -> None:
        if not confusion_null.computing():
            st.rerun()
        st.caption(":material/hourglass_top: Working out the no-shift band on these features (a few seconds)…")

    waiting()
