"""2-D maps of feature snapshots in one shared coordinate frame, so a run's snapshots can be animated.

A ``MapFrame`` is fitted on one snapshot. ``embed_snapshots`` fits the reference snapshot (usually the last),
then gives every other snapshot its own fit, started from its neighbour's layout and aligned to it by
Procrustes on the shared rows: each frame shows that epoch's own geometry (an early network's mixed classes
look mixed), not the early features placed through the final network's neighbourhoods. Snapshots hold the same
fixed sample of images (``stratified_sample_indices``), so row i is the same image in every snapshot.

- ``pca``: linear projection on the reference's top two principal components (instant).
- ``umap``: McInnes et al., "UMAP: Uniform Manifold Approximation and Projection", 2018; later snapshots
  go through umap-learn's ``transform``, which places new points against the fixed reference layout.
  Distances are precomputed (Euclidean, scikit-learn): umap-learn's own transform below 4,096 rows calls
  its distance function once per pair from Python (~12 s for 2,000 × 2,000). Memory is O(N²): 16 MB
  for 2,000 rows.
- ``tsne``: van der Maaten & Hinton, "Visualizing Data using t-SNE", JMLR 2008. t-SNE has no transform:
  each snapshot gets its own t-SNE, started from the reference layout, then Procrustes-aligned to it.

Features are standardized with the scaler fitted on the reference. Rows identical to a reference row
map exactly to that row's reference coordinates, so a fixed point set maps to itself (umap-learn's own
transform moves training points slightly; it short-circuits only when the whole array is the training set).
``umap`` is imported lazily: its first import takes ~14 s and the first fit in a process JIT-compiles
(14-32 s measured on 2 shared cores; see ``warm_up_umap``). Measured at 2,000 rows on 2 busy cores,
once warm: UMAP fit 2-4 s and transform of 2,000 new rows 3-4 s (200 epochs), t-SNE 8-13 s per
snapshot, PCA < 0.1 s.
"""
import threading
import time
import warnings

import numpy as np
from scipy.linalg import orthogonal_procrustes
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import euclidean_distances
from sklearn.preprocessing import StandardScaler

from .arrays import as_features, one_thread

# umap-learn's notes about the precomputed metric, which is used on purpose, are silenced for the whole process:
# `warnings.catch_warnings` around each fit is not thread-safe (a server draws maps on many threads, and one
# thread leaving it restores the filters under another's fit).
warnings.filterwarnings("ignore", message="using precomputed metric")
warnings.filterwarnings("ignore", message="Transforming new data with precomputed metric")

METHODS = ("umap", "pca", "tsne")


class MapFrame:
    """A 2-D coordinate frame learned from one reference snapshot (scikit-learn style).

    Learned attributes: ``scaler_``, ``model_`` (PCA / UMAP; None for t-SNE), ``reference_`` (N, 2)
    float32 coordinates of the reference rows, ``reference_features_`` (N, D) float32, ``row_index_``
    (a reference row's bytes → its index).

    >>> x = np.random.default_rng(0).normal(size=(50, 8))
    >>> frame = MapFrame("pca").fit(x)
    >>> bool(np.array_equal(frame.transform(x), frame.reference_))
    True
    """

    def __init__(
        self,
        method: str = "umap",
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        seed: int = 0,
        n_epochs: int | None = 200,
        perplexity: float = 30.0,
        init: np.ndarray | None = None,
    ):
        self.method = method
        self.n_neighbors = n_neighbors  # UMAP: neighbourhood size (local vs global structure)
        self.min_dist = min_dist  # UMAP: how tightly points may pack
        self.seed = seed
        self.n_epochs = n_epochs  # UMAP fit epochs (transform runs a third); None = umap-learn's 500 below 10k rows
        self.perplexity = perplexity  # t-SNE: effective number of neighbours, capped at (N − 1) / 3
        self.init = init  # UMAP / t-SNE: (N, 2) starting layout (default: spectral / PCA)

    def fit(self, features: np.ndarray) -> "MapFrame":
        if self.method not in METHODS:
            raise ValueError(f"unknown map method {self.method!r}; choose one of {', '.join(METHODS)}")
        x = as_features(features)
        if len(x) < 3:
            raise ValueError(f"a map needs at least 3 rows, got {len(x)}")
        with one_thread():
            self.scaler_ = StandardScaler().fit(x)
            z = self.scaler_.transform(x)
            if self.method == "pca":
                self.model_ = PCA(n_components=2, random_state=self.seed).fit(z)
                coords = self.model_.transform(z)
            elif self.method == "umap":
                self.model_ = self._umap(len(x)).fit(_distances(z, z))
                coords = self.model_.embedding_
            else:
                self.model_ = None
                coords = self._tsne(z, init="pca" if self.init is None else self.init,
                                    early_exaggeration=12.0 if self.init is None else 1.0)
        self.reference_ = np.asarray(coords, dtype=np.float32).copy()
        self.reference_features_ = x
        self.row_index_ = {row.tobytes(): i for i, row in enumerate(x)}
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        """(N, 2) float32 coordinates in the reference frame. For t-SNE, row i must be the same item as
        reference row i (same N)."""
        x = as_features(features)
        if x.shape[1] != self.reference_features_.shape[1]:
            raise ValueError(f"features have {x.shape[1]} columns, the frame was fitted on "
                             f"{self.reference_features_.shape[1]}")
        with one_thread():
            if self.method == "tsne":
                return self._transform_tsne(x)
            reference_row = self._reference_rows(x)
            known = reference_row >= 0
            coords = np.empty((len(x), 2), dtype=np.float32)
            coords[known] = self.reference_[reference_row[known]]
            if not known.all():
                coords[~known] = self._transform_new(self.scaler_.transform(x[~known]))
            return coords

    def _reference_rows(self, x: np.ndarray) -> np.ndarray:
        """Index of the reference row equal to each row of ``x`` (-1 if none): the same position first,
        so duplicated reference rows keep their own coordinates, then any position."""
        reference_row = np.full(len(x), -1, dtype=np.int64)
        n = min(len(x), len(self.reference_features_))
        in_place = np.flatnonzero((x[:n] == self.reference_features_[:n]).all(axis=1))
        reference_row[in_place] = in_place
        for i in np.flatnonzero(reference_row < 0):
            reference_row[i] = self.row_index_.get(x[i].tobytes(), -1)
        return reference_row

    def _transform_new(self, z: np.ndarray) -> np.ndarray:
        if self.method == "pca":
            return self.model_.transform(z)
        return self.model_.transform(_distances(z, self.scaler_.transform(self.reference_features_)))

    def _transform_tsne(self, x: np.ndarray) -> np.ndarray:
        if x.shape != self.reference_features_.shape:
            raise ValueError("t-SNE has no transform: a snapshot must hold the reference's rows in the same "
                             f"order ({len(self.reference_)} rows), got {len(x)}")
        if np.array_equal(x, self.reference_features_):
            return self.reference_.copy()
        # Start from the reference layout without early exaggeration: measured on clustered data, the
        # aligned map then drifts 2-3 times less than from a PCA start, with the same trustworthiness.
        coords = self._tsne(self.scaler_.transform(x), init=self.reference_, early_exaggeration=1.0)
        return align_to_reference(coords, self.reference_)

    def _umap(self, n_rows: int):
        import umap  # lazy: ~14 s on first import

        return umap.UMAP(
            n_components=2,
            metric="precomputed",  # Euclidean distances on standardized features, computed by scikit-learn
            n_neighbors=min(self.n_neighbors, n_rows - 1),
            min_dist=self.min_dist,
            n_epochs=self.n_epochs,
            random_state=self.seed,
            transform_seed=self.seed,
            init="spectral" if self.init is None else np.asarray(self.init, dtype=np.float64),
            n_jobs=1,  # a random_state forces one thread anyway; saying so silences umap's warning
            low_memory=True,
        )

    def _tsne(self, z: np.ndarray, init: str | np.ndarray, early_exaggeration: float) -> np.ndarray:
        tsne = TSNE(
            n_components=2,
            perplexity=min(self.perplexity, (len(z) - 1) / 3),
            init=init,
            early_exaggeration=early_exaggeration,
            max_iter=500,  # 250 exaggerated + 250 plain steps: same trustworthiness as 1,000 at half the time
            random_state=self.seed,
        )
        return tsne.fit_transform(z)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix; exact zeros on the diagonal when ``a is b`` (UMAP checks them)."""
    distances = euclidean_distances(a, b)
    if a is b:
        np.fill_diagonal(distances, 0.0)
    return distances


def align_to_reference(coords: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Similarity transform (rotation or reflection, uniform scale, shift) of ``coords`` Y that best matches
    ``reference`` X row by row in least squares (orthogonal Procrustes, Schönemann 1966):

        min over orthogonal R, s, t of ‖s (Y − Ȳ) R + t − X‖_F
        R = U Vᵀ from the SVD (Y − Ȳ)ᵀ (X − X̄) = U Σ Vᵀ,   s = trace Σ / ‖Y − Ȳ‖²_F,   t = X̄
    """
    coords, reference = np.asarray(coords, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if coords.shape != reference.shape:
        raise ValueError(f"coords {coords.shape} and reference {reference.shape} must have the same shape")
    centred, ref_mean = coords - coords.mean(axis=0), reference.mean(axis=0)
    rotation, singular_sum = orthogonal_procrustes(centred, reference - ref_mean)
    norm_sq = float((centred**2).sum())
    scale = singular_sum / norm_sq if norm_sq > 0 else 0.0
    return (scale * centred @ rotation + ref_mean).astype(np.float32)


def embed_snapshots(
    snapshots: list[np.ndarray],
    method: str = "umap",
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    seed: int = 0,
    n_epochs: int | None = 200,
    perplexity: float = 30.0,
    reference_index: int = -1,
) -> list[np.ndarray]:
    """One (N_i, 2) float32 map per snapshot, each of its own geometry, all in the frame of
    ``snapshots[reference_index]`` (whose map is its own fit, unchanged).

    Walking away from the reference, each snapshot is fitted on its own (UMAP and t-SNE start from the
    neighbouring snapshot's layout, so an animation moves rather than reshuffles) and aligned to that neighbour
    by ``align_to_reference``. A snapshot with other rows than its neighbour is placed through the reference's
    ``transform`` instead. The parameters are ``MapFrame``'s.
    """
    if not snapshots:
        return []
    settings = dict(n_neighbors=n_neighbors, min_dist=min_dist, seed=seed, n_epochs=n_epochs, perplexity=perplexity)
    features = [as_features(s) for s in snapshots]
    reference = reference_index % len(features)
    frame = MapFrame(method, **settings).fit(features[reference])
    maps: list[np.ndarray | None] = [None] * len(features)
    maps[reference] = frame.reference_.copy()
    for i in [*range(reference - 1, -1, -1), *range(reference + 1, len(features))]:
        near = i + 1 if i < reference else i - 1
        if features[i].shape != features[near].shape:
            maps[i] = frame.transform(features[i])
        elif np.array_equal(features[i], features[near]):
            maps[i] = maps[near].copy()
        else:
            own = MapFrame(method, init=None if method == "pca" else maps[near], **settings).fit(features[i])
            maps[i] = align_to_reference(own.reference_, maps[near])
    return maps


def normalize_map(coords: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Shift and scale (same factor on both axes, shapes kept) so ``reference``'s bounding box fits [-1, 1]².

    ``reference`` defaults to ``coords``; pass the reference map to keep several snapshots in one frame
    (points outside the reference's box then land slightly outside [-1, 1]).
    """
    coords = np.asarray(coords, dtype=np.float32)
    box = coords if reference is None else np.asarray(reference, dtype=np.float32)
    low, high = box.min(axis=0), box.max(axis=0)
    half_range = float((high - low).max()) / 2 or 1.0
    return (coords - (low + high) / 2) / half_range



def place_on_map(features: np.ndarray, new_features: np.ndarray, method: str = "pca") -> tuple[np.ndarray, np.ndarray]:
    """(the map of ``features``, where ``new_features`` land on it), both normalised by the map's box.

    The map is ``MapFrame(method)`` fitted on ``features`` then ``normalize_map``; new rows go through the frame's
    ``transform`` and the same shift and scale, so they may land outside [-1, 1]. t-SNE has no transform.
    """
    if method == "tsne":
        raise ValueError("t-SNE has no transform: new points cannot be placed on its map")
    frame = MapFrame(method).fit(features)
    return normalize_map(frame.reference_), normalize_map(frame.transform(new_features), frame.reference_)

_warm_lock = threading.Lock()
_warm = False


def warm_up_umap() -> float:
    """Import umap and JIT-compile its fit and transform on a tiny 200 × 8 problem. Returns the seconds spent
    (0.0 once warm). Thread-safe: start it in a background thread when the app starts."""
    global _warm
    with _warm_lock:
        if _warm:
            return 0.0
        start = time.perf_counter()
        x = np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32)
        MapFrame("umap", n_neighbors=10).fit(x[:150]).transform(x[150:])
        _warm = True
        return time.perf_counter() - start

