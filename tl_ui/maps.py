"""Feature snapshots → 2-D maps and thumbnails, cached per snapshot file (Streamlit caches).

Snapshot files never change once written (the engine replaces them atomically), so a path plus its size
is a safe cache key. Maps are normalised to [-1, 1] so panels side by side share a scale.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import streamlit as st

from tl_view.charts import MapPanel


def _stamp(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return -1


@st.cache_data(max_entries=256, show_spinner=False)
def _read(path: str, stamp: int) -> dict[str, np.ndarray]:
    from tl_core.train.snapshots import read_snapshot

    return read_snapshot(path)


def read(path: str) -> dict[str, np.ndarray]:
    return _read(path, _stamp(path))


def _split(coords: np.ndarray, n_source: int) -> tuple[np.ndarray, np.ndarray]:
    return coords[:n_source], coords[n_source:]


@st.cache_data(max_entries=128, show_spinner=False)
def _single(path: str, stamp: int, method: str, n_neighbors: int, min_dist: float) -> tuple[np.ndarray, np.ndarray]:
    from tl_core.analysis import MapFrame, normalize_map

    snap = read(path)
    feats = np.concatenate([snap["source_feats"], snap["target_feats"]])
    frame = MapFrame(method, n_neighbors=n_neighbors, min_dist=min_dist).fit(feats)
    return _split(normalize_map(frame.reference_), len(snap["source_feats"]))


def single_map(path: str, method: str = "pca", n_neighbors: int = 15, min_dist: float = 0.1):
    """(source_xy, target_xy) of one snapshot in its own frame."""
    return _single(path, _stamp(path), method, int(n_neighbors), float(min_dist))


@st.cache_data(max_entries=32, show_spinner=False)
def _shared(paths: tuple[str, ...], stamps: tuple[int, ...], method: str, n_neighbors: int,
            min_dist: float) -> list[tuple[np.ndarray, np.ndarray]]:
    from tl_core.analysis import embed_snapshots, normalize_map

    snaps = [read(p) for p in paths]
    feats = [np.concatenate([s["source_feats"], s["target_feats"]]) for s in snaps]
    maps = embed_snapshots(feats, method, n_neighbors=n_neighbors, min_dist=min_dist, reference_index=-1)
    reference = maps[-1]
    return [_split(normalize_map(m, reference), len(s["source_feats"])) for m, s in zip(maps, snaps)]


def shared_maps(paths: Sequence[str], method: str, n_neighbors: int = 15, min_dist: float = 0.1):
    """Every snapshot of one run in the frame of its last snapshot, so an animation shows movement."""
    paths = tuple(paths)
    return _shared(paths, tuple(_stamp(p) for p in paths), method, int(n_neighbors), float(min_dist))


@st.cache_data(max_entries=128, show_spinner=False)
def _scores(path: str, stamp: int, method: str, n_neighbors: int, min_dist: float) -> dict[str, float]:
    from tl_core.analysis import embedding_scores

    snap = read(path)
    source_xy, target_xy = _single(path, stamp, method, n_neighbors, min_dist)
    return embedding_scores(snap["target_feats"], snap["target_labels"], source_xy, target_xy)


def scores(path: str, method: str = "pca", n_neighbors: int = 15, min_dist: float = 0.1) -> dict[str, float]:
    """kNN class accuracy of the snapshot's target features and of its map, and the map's domain mixing."""
    return _scores(path, _stamp(path), method, int(n_neighbors), float(min_dist))


def panel(title: str, path: str, coords: tuple[np.ndarray, np.ndarray]) -> MapPanel:
    snap = read(path)
    return MapPanel(title, coords[0], coords[1], snap["source_labels"], snap["target_labels"],
                    snap.get("source_index"), snap.get("target_index"))


@st.cache_resource(max_entries=8, show_spinner="Loading images…")
def test_images(dataset: str, img_size: int):
    """The test split's uint8 N×3×H×W images of a dataset (indices in snapshots and evaluations point here)."""
    from tl_core.data import load_domain

    return load_domain(dataset, img_size).test.images


@st.cache_data(max_entries=32, show_spinner=False, ttl=60)
def class_names(dataset: str, img_size: int) -> tuple[str, ...]:
    """Class names without building the dataset where the catalogue knows them."""
    from tl_core.data import load_domain
    from tl_core.data.catalog import dataset_classes

    return tuple(dataset_classes(dataset) or load_domain(dataset, img_size).classes)


def place(path: str, features: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """The snapshot's PCA map (source_xy, target_xy), as `single_map` draws it, and the (x, y) where one more
    feature row lands on it."""
    from tl_core.analysis import place_on_map

    snap = read(path)
    coords, placed = place_on_map(np.concatenate([snap["source_feats"], snap["target_feats"]]), features[None])
    return _split(coords, len(snap["source_feats"])), placed[0]
