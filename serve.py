"""Transfer Lab's server: the dashboard (app.py) behind the middleware that gives each browser its owner cookie
(`tl_ui.owner_cookie`). Start it with `make run`, or `python -m streamlit run serve.py` (the same flags as for any
Streamlit app, e.g. `--server.port 8501`)."""
import gc
import sys

import streamlit as st
from starlette.middleware import Middleware

import tl_ui.live  # noqa: F401  the stack every page imports (torch, plotly, pandas, the engine), loaded once here
import tl_view.lesson_views  # noqa: F401
from tl_core.serving.owners import WeakToken
from tl_ui.owner_cookie import OwnerCookie
from tl_ui.teacher_box import server_token

# Python's full collections scan every object in the process, and a page script waits for them: with torch, plotly
# and pandas loaded that is over 600,000 objects and about 0.3 s a pass on the lab's 2-core server, while a class's
# tabs make garbage every second. What is loaded now lives as long as the server, so it is left out of collection.
gc.freeze()

try:
    server_token()
except WeakToken as err:  # refused before anyone connects, in the terminal that started the server
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)

app = st.App("app.py", middleware=[Middleware(OwnerCookie)])

if __name__ == "__main__":
    app.run()
