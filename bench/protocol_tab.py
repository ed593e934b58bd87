"""A dashboard tab reduced to what the server sees of it: Streamlit's websocket protocol, without a browser.

What a browser tab does to the server, this does the same way: it opens `/_stcore/stream` with the page's
query string and the owner cookie, asks for a script run, and re-runs each fragment at the interval the server
asks for (`ForwardMsg.auto_rerun`), one run at a time as the browser's client does. It draws nothing, so the
CPU it costs is only the server's — what a student's tab costs a shared server whose students' browsers run on
their own machines. It keeps the text of the first progress bar of each script run (the page's main run) and
when it arrived, when each text (markdown, captions) first arrived, and the buttons as last drawn; `press` clicks
one as the browser does (the button's trigger in the next script run's widget states).
"""
from __future__ import annotations

import secrets
import threading
import time

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

from tl_ui.owner_cookie import COOKIE


class ProtocolTab(threading.Thread):
    def __init__(self, url: str, query: str = "", secret: str | None = None, page: str = ""):
        """`secret`: the owner cookie's value (a fresh one when None); `page`: the page's URL path ("" the main)."""
        super().__init__(daemon=True)
        self.url, self.query, self.page = url, query, page
        self.secret = secret or secrets.token_urlsafe(32)
        self.texts: dict[str, float] = {}  # each markdown body received -> when it first arrived
        self.buttons: dict[str, tuple[str, bool]] = {}  # label -> (widget id, disabled), as last drawn
        self._press: str | None = None  # a button's widget id to trigger in the next script run
        self.progress: tuple[float, str | None] = (0.0, None)  # (arrived at, the latest run's first progress bar)
        self.script_runs = 0
        self._closing = threading.Event()
        self._timers: dict[str, tuple[float, float]] = {}  # fragment id -> (interval s, next rerun at)
        self._page_hash = ""
        self._busy = False
        self._first_progress_pending = False

    def stop(self) -> None:
        self._closing.set()
        self.join(10)

    def run(self) -> None:
        origin = self.url
        with connect(self.url.replace("http", "ws", 1) + "/_stcore/stream", origin=origin,
                     subprotocols=["streamlit"], max_size=None, compression=None,
                     additional_headers={"Cookie": f"{COOKIE}={self.secret}"}) as ws:
            self._send(ws, None)
            while not self._closing.is_set():
                try:
                    self._receive(ws.recv(timeout=0.1))
                except TimeoutError:
                    pass
                self._rerun_due(ws)

    def press(self, label: str) -> bool:
        """Click the button `label` as last drawn (False if it was not drawn, or drawn disabled); the click is sent
        once the script run in progress, if any, has finished."""
        widget, disabled = self.buttons.get(label, ("", True))
        if disabled:
            return False
        self._press = widget
        return True

    def _rerun_due(self, ws) -> None:
        if self._busy:
            return
        if self._press:
            self._send(ws, None, self._press)
            self._press = None
            return
        now = time.time()
        for fragment, (interval, due) in self._timers.items():
            if now >= due:
                self._timers[fragment] = (interval, now + interval)
                self._send(ws, fragment)
                return

    def _send(self, ws, fragment: str | None, trigger: str = "") -> None:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self._page_hash
        state.page_name = self.page
        if trigger:
            state.widget_states.widgets.add(id=trigger, trigger_value=True)
        if fragment:
            state.fragment_id, state.is_auto_rerun = fragment, True
        ws.send(msg.SerializeToString())
        self._busy, self._first_progress_pending = True, True

    def _receive(self, data: bytes) -> None:
        msg = ForwardMsg()
        msg.ParseFromString(data)
        kind = msg.WhichOneof("type")
        if kind == "navigation":  # the page that ran (new_session names the main script under st.navigation)
            self._page_hash = msg.navigation.page_script_hash
        elif kind == "new_session":
            self._page_hash = self._page_hash or msg.new_session.page_script_hash
            if not msg.metadata.run.fragment_ids:
                self._timers.clear()  # a full script run registers its fragments' timers anew
        elif kind == "auto_rerun":
            interval = msg.auto_rerun.interval
            self._timers[msg.auto_rerun.fragment_id] = (interval, time.time() + interval)
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                self._timers.pop(fragment, None)
        elif kind == "script_finished":
            self._busy = False
            self.script_runs += 1
        elif kind == "delta":
            element = msg.delta.new_element
            drawn = element.WhichOneof("type")
            if drawn == "progress" and self._first_progress_pending:
                self.progress, self._first_progress_pending = (time.time(), element.progress.text), False
            elif drawn == "markdown":
                self.texts.setdefault(element.markdown.body, time.time())
            elif drawn == "button":
                self.buttons[element.button.label] = (element.button.id, element.button.disabled)
