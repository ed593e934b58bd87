"""Figures shared by every tab that shows the same data.

Building a plotly figure validates every trace (tens of milliseconds for the embedding maps), and a live view
redraws every few seconds in every open tab: on a 2-core server that CPU is taken from training. So a figure is
built once per version of its data, in this process, and reused by every rerun and every tab; a figure is
never changed after it is built. The key must name everything the figure is drawn from. What the figures are
drawn from is shared the same way, for a moment (`recent`)."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import streamlit as st

T = TypeVar("T")
MAX_FIGURES = 128
MAX_RECENT = 64


class _Shared:
    """Values by key, the most recent `limit` kept; a value asked for while it is being built is waited for."""

    def __init__(self, limit: int):
        self.limit = limit
        self.lock = threading.Lock()
        self.items: OrderedDict[Hashable, object] = OrderedDict()
        self.building: dict[Hashable, threading.Lock] = {}
        self.built = 0

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            building = self.building.setdefault(key, threading.Lock())
        with building:  # tabs polling at the same moment: one builds, the others wait for its value
            with self.lock:
                if key in self.items:
                    return self.items[key]
            value = build()
            with self.lock:
                self.items[key] = value
                self.building.pop(key, None)
                self.built += 1
                while len(self.items) > self.limit:
                    self.items.popitem(last=False)
        return value

    def forget(self, key: Hashable) -> None:
        with self.lock:
            self.items.pop(key, None)


@st.cache_resource(show_spinner=False)
def _figures() -> _Shared:
    return _Shared(MAX_FIGURES)


@st.cache_resource(show_spinner=False)
def _recent() -> _Shared:
    return _Shared(MAX_RECENT)


def cached_figure(key: Hashable, build: Callable[[], T]) -> T:
    """`build()`'s result for `key`, built at most once while it stays among the most recent MAX_FIGURES."""
    return _figures().get(key, build)


def recent(key: Hashable, seconds: float, build: Callable[[], T]) -> T:
    """`build()`'s result for `key` as some tab built it within the last `seconds` (a time bucket): what every
    watching tab reads on each tick — a lesson's runs from the store and their files — is read once per tick for
    the whole class, not once per tab. The value is shared: never change it."""
    return _recent().get((key, int(time.monotonic() // seconds)), build)


def forget(key: Hashable) -> None:
    """Drop a figure that was drawn from incomplete data (a snapshot not readable yet), so the next draw
    builds it again."""
    _figures().forget(key)


def figures_built() -> int:
    """How many figures this process has built (tests: a redraw with the same data builds none)."""
    return _figures().built
