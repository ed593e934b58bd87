"""Transfer Lab's server: the dashboard (app.py) behind the middleware that gives each browser its owner cookie
(`tl_ui.owner_cookie`). Start it with `make run`, or `python -m streamlit run serve.py` (the same flags as for any
Streamlit app, e.g. `--server.port 8501`)."""
import gc
import sys
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware

from tl_core.serving.owners import WeakToken
from tl_ui.owner_cookie import OwnerCookie
from tl_ui.teacher_box import server_token


@asynccontextmanager
async def preload(_app):
    """Load the stack every page imports (torch, plotly, pandas, the engine) once, when the server starts.

    Here and not at module scope: this module runs before Streamlit's runtime exists, and a `@st.cache_data`
    decorated then logs "No runtime found" into the teacher's terminal. Then Python's full collections would scan
    every object in the process, and a page script waits for them: with torch, plotly and pandas loaded that is over
    600,000 objects and about 0.3 s a pass on the lab's 2-core server, while a class's tabs make garbage every
    second. What is loaded now lives as long as the server, so it is left out of collection.

    On a new boot the CPU's precision is timed here too (about 7 s, `tl_core.machine.cpu_precision`), so no page
    waits for it.
    """
    import tl_ui.live  # noqa: F401
    import tl_view.lesson_views  # noqa: F401
    from tl_core.machine.device import device_name, pick_device

    device_name(pick_device())

    gc.freeze()
    yield


try:
    server_token()
except WeakToken as err:  # refused before anyone connects, in the terminal that started the server
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)

app = st.App("app.py", lifespan=preload, middleware=[Middleware(OwnerCookie)])

if __name__ == "__main__":
    app.run()
