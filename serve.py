"""Transfer Lab's server: the dashboard (app.py) behind the middleware that gives each browser its owner cookie
(`tl_ui.owner_cookie`). Start it with `make run`, or `python -m streamlit run serve.py` (the same flags as for any
Streamlit app, e.g. `--server.port 8501`)."""
import sys

import streamlit as st
from starlette.middleware import Middleware

from tl_core.owners import WeakToken
from tl_ui.owner_cookie import OwnerCookie
from tl_ui.teacher_box import server_token

try:
    server_token()
except WeakToken as err:  # refused before anyone connects, in the terminal that started the server
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)

app = st.App("app.py", middleware=[Middleware(OwnerCookie)])

if __name__ == "__main__":
    app.run()
