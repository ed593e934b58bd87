"""A canvas to draw a digit on: a Streamlit components-v2 component, inline (no build step, nothing fetched).

Light round strokes on a black square, like the built-in digits; mouse, pen or touch. The drawing comes back as a
PNG data URL when a stroke ends, not on every pointer move, so each stroke costs one rerun.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

_ASSETS = Path(__file__).resolve().parent.parent / "assets" / "draw_canvas"
_HTML = """<div class="tl-draw">
  <canvas width="280" height="280" role="img" aria-label="Drawing area: draw a digit"></canvas>
  <div class="tl-draw-bar"><button type="button">Clear</button>
    <span class="tl-draw-hint">Draw one digit, large, filling the square.</span></div>
</div>"""

_component = st.components.v2.component(
    "tl_draw_canvas", html=_HTML, css=(_ASSETS / "draw_canvas.css").read_text(),
    js=(_ASSETS / "draw_canvas.js").read_text())


def _declares_the_image_state() -> None:
    """components v2 names a state key by its `on_<key>_change` callback; nothing else happens on a change."""


def draw_canvas(key: str) -> str | None:
    """The drawing as a PNG data URL, or None while nothing is drawn (or after Clear)."""
    held = st.session_state.get(key) or {}
    result = _component(key=key, data=held.get("image"), default={"image": None},
                        on_image_change=_declares_the_image_state)
    return result.image
