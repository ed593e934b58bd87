"""Transfer Lab — the dashboard's script. Start it with `make run` (`python -m streamlit run serve.py`: this script
behind the middleware that sets each browser's owner cookie).

The menu lives in tl_ui/nav.py (PAGES): adding a page is one line there plus the page's file in pages/.
"""
from tl_ui import nav

page = nav.frame()
nav.enter_page()
page.run()
