"""Share by link: a run's link (`?run=`, read-only for anyone but its owner), the Experiment form's settings in
a link (`?cfg=`), and controls a teacher's link hides (`&hide=advanced`)."""
from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from tl_core.runs.config import RunConfig
from tl_view.share_link import BadLink, decode_config, encode_config

HIDEABLE = {"advanced": "x-advanced"}  # `hide=` value → the key prefix of the containers it hides


def _origin() -> str:
    url = urlsplit(st.context.url or "http://localhost:8501/")
    return f"{url.scheme}://{url.netloc}"


def run_link(run_id: str) -> str:
    return f"{_origin()}/?run={run_id}"


def settings_link(config: RunConfig, hide: str = "") -> str:
    return f"{_origin()}/?cfg={encode_config(config)}" + (f"&hide={hide}" if hide else "")


def apply_link(prefill) -> str:
    """Fill the form from `?cfg=` once per link (call before the form is drawn; what the link asks for beyond
    the schema keeps its default); returns a problem or ""."""
    text = st.query_params.get("cfg")
    if not text or st.session_state.get("applied_cfg") == text:
        return ""
    st.session_state.applied_cfg = text
    try:
        config, left_out = decode_config(text)
    except BadLink as err:
        return str(err)
    prefill(config)
    return " ".join(["This link asked for settings this server does not allow:", *left_out]) if left_out else ""


def hide_controls() -> None:
    """Hide what `?hide=` names (comma-separated; unknown names are ignored)."""
    for name in (st.query_params.get("hide") or "").split(","):
        if name.strip() in HIDEABLE:
            st.html(f"<style>[class*='st-key-{HIDEABLE[name.strip()]}'] {{display: none}}</style>")
