"""Transfer Lab — the dashboard. Start it with `make run` (or `python -m streamlit run app.py`).

The menu lives in tl_ui/nav.py (PAGES): adding a page is one line there plus the page's file in pages/.
"""
from tl_ui import nav

page = nav.frame()
nav.enter_page()
page.run()
