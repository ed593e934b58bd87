"""Transfer Lab's server: the dashboard (app.py) behind the middleware that gives each browser its owner cookie
(`tl_ui.owner_cookie`). Start it with `make run`, or `python -m streamlit run serve.py` (the same flags as for any
Streamlit app, e.g. `--server.port 8501`)."""
import streamlit as st
from starlette.middleware import Middleware

from tl_ui.owner_cookie import OwnerCookie

app = st.App("app.py", middleware=[Middleware(OwnerCookie)])

if __name__ == "__main__":
    app.run()
