"""The app's menu and the frame around every page (page config, navigation, sidebar).

Adding a page: write `pages/<name>.py` (starting with `nav.page_guard(__file__)`) and add one line to PAGES.
Entries whose file does not exist yet are left out, so a page appears in the menu as soon as its file lands.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent

# (section, file, title, icon) in menu order; the first page is the home page.
PAGES = [
    ("Lab", "pages/experiment.py", "Experiment", ":material/science:"),
    ("Lab", "pages/embeddings.py", "Embeddings", ":material/scatter_plot:"),
    ("Lab", "pages/domain_shift.py", "Domain shift", ":material/compare_arrows:"),
    ("Lab", "pages/runs.py", "Runs", ":material/history:"),
    ("Learn", "pages/lessons.py", "Lessons", ":material/school:"),
    ("Your data", "pages/feasibility.py", "Feasibility check", ":material/fact_check:"),
    ("Teach", "pages/class_view.py", "Class view", ":material/groups:"),
]


def sections() -> dict[str, list]:
    out: dict[str, list] = {}
    for i, (section, file, title, icon) in enumerate(PAGES):
        if (ROOT / file).is_file():
            out.setdefault(section, []).append(st.Page(str(ROOT / file), title=title, icon=icon, default=i == 0))
    return out


def page(file: str):
    """The menu entry of `file` (e.g. "pages/runs.py") for st.switch_page and st.page_link: an absolute path, so
    it resolves the same whichever script Streamlit runs as the main one."""
    for i, (_section, path, title, icon) in enumerate(PAGES):
        if path == file:
            return st.Page(str(ROOT / path), title=title, icon=icon, default=i == 0)
    raise KeyError(f"{file} is not in tl_ui.nav.PAGES")


def frame():
    """Page config, menu, sidebar and process-wide set-up; returns the page the URL asks for."""
    from tl_ui import state, teacher_box, widgets

    icon = ROOT / "assets" / "favicon.png"  # a local file: a material-icon favicon is fetched from Google's CDN
    st.set_page_config(page_title="Transfer Lab", page_icon=str(icon) if icon.is_file() else None, layout="wide")
    page = st.navigation(sections())
    state.owner()
    state.configure_threads()
    state.umap_warmup()
    state.lesson_timings()
    widgets.sidebar()
    teacher_box.sidebar_box()
    return page


def enter_page() -> None:
    """app.py marks each script run that goes through its navigation (see `page_guard`)."""
    st.session_state["_via_app"] = True


def page_guard(page_file: str) -> None:
    """Call first in every page. Streamlit runs a page straight from `pages/` (its legacy multipage mode) until
    some session has run app.py's `st.navigation` — on a fresh server whose first visitor follows a deep link
    (e.g. /runs), and on every rerun under AppTest. Such a run draws the app's frame here (page config, menu,
    sidebar) and goes on with the page, so nothing differs from a run through app.py."""
    if st.session_state.pop("_via_app", False):
        return
    frame()
