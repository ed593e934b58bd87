"""How well a space keeps classes together and domains mixed, read from each point's nearest neighbours.

Both scores are leave-one-out over one set of points (features or a 2-D map), so a feature space and its map
are scored the same way and can be compared: a map that keeps the classes apart scores near its features.
"""
import numpy as np
from sklearn.metrics import euclidean_distances

from .arrays import as_features


def _neighbours(points: np.ndarray, k: int) -> np.ndarray:
    """(N, k) indices of each row's k nearest other rows (Euclidean)."""
    x = as_features(points)
    if len(x) < 2:
        raise ValueError(f"nearest neighbours need at least 2 points, got {len(x)}")
    k = min(k, len(x) - 1)
    distances = euclidean_distances(x, x)
    np.fill_diagonal(distances, np.inf)
    return np.argpartition(distances, k - 1, axis=1)[:, :k]


def knn_class_accuracy(points: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """The fraction of points whose k nearest other points vote for their own class (ties: the lowest class id)."""
    labels = np.asarray(labels)
    votes = labels[_neighbours(points, k)]
    classes = np.unique(labels)
    counts = (votes[:, :, None] == classes[None, None, :]).sum(axis=1)
    return float((classes[counts.argmax(axis=1)] == labels).mean())


def domain_mixing(points: np.ndarray, domains: np.ndarray, k: int = 10) -> float:
    """In [0, 1]: the share of a point's k nearest neighbours from the other domain, over the share a perfect mix
    would give (averaged over points, capped at 1). 0: the domains sit apart; 1: they are fully mixed."""
    domains = np.asarray(domains)
    other = (domains[_neighbours(points, k)] != domains[:, None]).mean(axis=1)
    n = len(domains)
    expected = np.array([(domains != d).sum() / (n - 1) for d in domains])
    return float(np.minimum(other / np.maximum(expected, 1e-12), 1.0).mean())


def embedding_scores(target_features: np.ndarray, target_labels: np.ndarray, source_map: np.ndarray,
                     target_map: np.ndarray) -> dict[str, float]:
    """What an embedding panel prints: kNN class accuracy of the target's features and of its points on the 2-D
    map, and how mixed the two domains are on the map."""
    domains = np.repeat([0, 1], [len(source_map), len(target_map)])
    return {"knn_features": knn_class_accuracy(target_features, target_labels),
            "knn_map": knn_class_accuracy(target_map, target_labels),
            "domain_mixing": domain_mixing(np.concatenate([source_map, target_map]), domains)}
