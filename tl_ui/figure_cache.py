"""Figures shared by every tab that shows the same data.

Building a plotly figure validates every trace (tens of milliseconds for the embedding maps), and a live view
redraws every few seconds in every open tab: on a 2-core server that CPU is taken from training. So a figure is
built once per version of its data, in this process, and reused by every rerun and every tab; a figure is
never changed after it is built. The key must name everything the figure is drawn from."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

import streamlit as st

T = TypeVar("T")
MAX_FIGURES = 128


class _Figures:
    def __init__(self):
        self.lock = threading.Lock()
        self.items: OrderedDict[Hashable, object] = OrderedDict()
        self.building: dict[Hashable, threading.Lock] = {}  # tabs asking for a figure being built wait for it
        self.built = 0


@st.cache_resource(show_spinner=False)
def _figures() -> _Figures:
    return _Figures()


def cached_figure(key: Hashable, build: Callable[[], T]) -> T:
    """`build()`'s result for `key`, built at most once while it stays among the most recent MAX_FIGURES."""
    figures = _figures()
    with figures.lock:
        if key in figures.items:
            figures.items.move_to_end(key)
            return figures.items[key]
        building = figures.building.setdefault(key, threading.Lock())
    with building:  # tabs polling at the same moment: one builds, the others wait for its figure
        with figures.lock:
            if key in figures.items:
                return figures.items[key]
        value = build()
        with figures.lock:
            figures.items[key] = value
            figures.building.pop(key, None)
            figures.built += 1
            while len(figures.items) > MAX_FIGURES:
                figures.items.popitem(last=False)
    return value


def forget(key: Hashable) -> None:
    """Drop a figure that was drawn from incomplete data (a snapshot not readable yet), so the next draw
    builds it again."""
    figures = _figures()
    with figures.lock:
        figures.items.pop(key, None)


def figures_built() -> int:
    """How many figures this process has built (tests: a redraw with the same data builds none)."""
    return _figures().built
