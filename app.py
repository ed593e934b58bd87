"""Transfer Lab — the dashboard. Start it with `make run` (or `python -m streamlit run app.py`).

Adding a page: write `pages/<name>.py` and add one line to PAGES. Pages whose file does not exist yet are
left out of the menu, so the Lessons and Feasibility entries appear as soon as their files land.
"""
from pathlib import Path

import streamlit as st

from tl_ui import state, widgets

ROOT = Path(__file__).resolve().parent

# (section, file, title, icon) in menu order; the first page is the home page.
PAGES = [
    ("Lab", "pages/experiment.py", "Experiment", ":material/science:"),
    ("Lab", "pages/embeddings.py", "Embeddings", ":material/scatter_plot:"),
    ("Lab", "pages/domain_shift.py", "Domain shift", ":material/compare_arrows:"),
    ("Lab", "pages/runs.py", "Runs", ":material/history:"),
    ("Learn", "pages/lessons.py", "Lessons", ":material/school:"),
    ("Your data", "pages/feasibility.py", "Feasibility check", ":material/fact_check:"),
]


def navigation() -> dict[str, list]:
    sections: dict[str, list] = {}
    for i, (section, file, title, icon) in enumerate(PAGES):
        if (ROOT / file).is_file():
            sections.setdefault(section, []).append(st.Page(str(ROOT / file), title=title, icon=icon, default=i == 0))
    return sections


st.set_page_config(page_title="Transfer Lab", page_icon=":material/science:", layout="wide")
page = st.navigation(navigation())
state.owner()
state.keep_widget_values()
state.configure_threads()
state.umap_warmup()
widgets.sidebar()
state.enter_page()
page.run()
