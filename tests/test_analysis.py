"""Analysis on arrays: domain confusion, maps in one frame, per-class metrics, fixed samples."""
import json

import numpy as np
import pytest

from tl_core.analysis import (
    MapFrame,
    a_distance_from_error,
    accuracy,
    align_to_reference,
    confusion_matrix,
    domain_confusion,
    domain_mixing,
    embed_snapshots,
    gap_closed,
    knn_class_accuracy,
    mean_sd,
    misclassified_from_records,
    misclassified_indices,
    misclassified_to_records,
    normalize_map,
    per_class_accuracy,
    stratified_sample_indices,
)


def gaussian(n, dims, shift=0.0, seed=0):
    return np.random.default_rng(seed).normal(loc=shift, size=(n, dims)).astype(np.float32)


def clusters(n, dims, seed=0, classes=4):
    """Points around `classes` well-separated centres (the centres are the same for every seed)."""
    centres = np.random.default_rng(99).normal(scale=4.0, size=(classes, dims))
    rng = np.random.default_rng(seed)
    return (centres[np.arange(n) % classes] + rng.normal(size=(n, dims))).astype(np.float32)


# --- domain confusion -------------------------------------------------------------------------------


def test_domain_confusion_is_chance_for_one_distribution():
    result = domain_confusion(gaussian(600, 64, seed=1), gaussian(600, 64, seed=2), seed=0)
    assert abs(result.acc - 0.5) < 0.1
    assert 0.0 <= result.a_distance <= 2.0 and result.acc_sd >= 0.0


def test_domain_confusion_is_near_one_for_separated_distributions():
    result = domain_confusion(gaussian(500, 128, seed=1), gaussian(400, 128, shift=1.0, seed=2), seed=0)
    assert result.acc > 0.95
    assert result.a_distance == pytest.approx(a_distance_from_error(1 - result.acc))
    assert result.a_distance > 1.8


def test_domain_confusion_is_seeded():
    source, target = gaussian(300, 16, seed=1), gaussian(300, 16, shift=0.2, seed=2)
    assert domain_confusion(source, target, seed=3) == domain_confusion(source, target, seed=3)


def test_a_distance_is_clipped_to_0_2():
    assert a_distance_from_error(0.0) == 2.0
    assert a_distance_from_error(0.25) == pytest.approx(1.0)
    assert a_distance_from_error(0.5) == 0.0
    assert a_distance_from_error(0.8) == 0.0  # worse than chance
    assert all(0.0 <= a_distance_from_error(e) <= 2.0 for e in np.linspace(-0.5, 1.5, 41))


def test_domain_confusion_rejects_bad_input():
    with pytest.raises(ValueError):
        domain_confusion(gaussian(50, 8), gaussian(50, 9))
    with pytest.raises(ValueError):
        domain_confusion(gaussian(1, 8), gaussian(50, 8), folds=5)


def test_domain_confusion_uses_fewer_folds_on_few_rows():
    assert 0 <= domain_confusion(gaussian(3, 8), gaussian(50, 8), folds=5).acc <= 1


# --- maps in one frame --------------------------------------------------------------------------------


def assert_shared_frame(method, n, dims, atol):
    reference, later = clusters(n, dims, seed=1), clusters(n, dims, seed=2)
    reference[-5:] = reference[:5]  # duplicated images must keep their own reference coordinates
    frame = MapFrame(method, seed=0).fit(reference)
    assert frame.reference_.shape == (n, 2) and frame.reference_.dtype == np.float32
    np.testing.assert_allclose(frame.transform(reference), frame.reference_, atol=atol)
    once, twice = frame.transform(later), frame.transform(later)
    np.testing.assert_allclose(once, twice, atol=atol)
    extended = frame.transform(np.concatenate([reference, later[:50]]))
    np.testing.assert_allclose(extended[:n], frame.reference_, atol=atol)
    shuffled = 5 + np.random.default_rng(0).permutation(n - 10)  # rows that have no duplicate, in any order
    np.testing.assert_allclose(frame.transform(reference[shuffled]), frame.reference_[shuffled], atol=atol)
    maps = embed_snapshots([later, reference], method, reference_index=-1)
    np.testing.assert_allclose(maps[1], frame.reference_, atol=atol)
    assert maps[0].shape == (n, 2) and np.isfinite(maps[0]).all()


def test_pca_maps_share_one_frame():
    assert_shared_frame("pca", n=400, dims=32, atol=1e-5)


@pytest.mark.slow
def test_umap_maps_share_one_frame():
    """Runs umap-learn for real (JIT on first fit: ~15 s on 2 cores); never skipped."""
    assert_shared_frame("umap", n=300, dims=16, atol=1e-5)


def mixed_then_clustered(n=300, dims=16):
    """(early, late, labels): the late snapshot holds three classes apart; the early one has them mixed."""
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 3
    late = (rng.normal(size=(n, dims)) + 6 * np.eye(3, dims)[labels]).astype(np.float32)
    return rng.normal(size=(n, dims)).astype(np.float32), late, labels


@pytest.mark.parametrize("method", ["pca", pytest.param("umap", marks=pytest.mark.slow)])  # UMAP compiles: seconds
def test_each_snapshot_map_shows_its_own_geometry(method):
    """An early network with mixed classes must look mixed, not be placed through the final network's clusters."""
    early, late, labels = mixed_then_clustered()
    maps = embed_snapshots([early, late], method, reference_index=-1)
    assert knn_class_accuracy(maps[1], labels) > 0.9
    assert knn_class_accuracy(maps[0], labels) < 0.5  # chance is 1/3
    assert abs(knn_class_accuracy(maps[0], labels) - knn_class_accuracy(early, labels)) < 0.2


def test_pca_snapshot_map_is_its_own_fit_aligned_to_the_next():
    early, late, _ = mixed_then_clustered()
    maps = embed_snapshots([early, late], "pca")
    own = MapFrame("pca").fit(early).reference_
    np.testing.assert_allclose(maps[0], align_to_reference(own, maps[1]), atol=1e-5)


def test_knn_scores_read_classes_and_domains():
    _, late, labels = mixed_then_clustered()
    assert knn_class_accuracy(late, labels) == 1.0
    assert knn_class_accuracy(np.array([[0.0], [1.0], [10.0], [11.0]]), [0, 0, 1, 1], k=1) == 1.0
    assert knn_class_accuracy(np.array([[0.0], [1.0], [10.0], [11.0]]), [0, 1, 0, 1], k=1) == 0.0
    apart = np.concatenate([np.zeros((20, 2)), np.full((20, 2), 100.0)]) + np.arange(40)[:, None] * 0.01
    domains = np.repeat([0, 1], 20)
    assert domain_mixing(apart, domains) == 0.0
    assert domain_mixing(np.random.default_rng(0).normal(size=(400, 2)), np.arange(400) % 2) > 0.8
    with pytest.raises(ValueError):
        knn_class_accuracy(np.zeros((1, 2)), [0])


def test_tsne_reference_equals_its_own_alignment():
    reference = clusters(150, 8, seed=1)
    frame = MapFrame("tsne", perplexity=15).fit(reference)
    np.testing.assert_allclose(frame.transform(reference), frame.reference_, atol=1e-5)
    nudged = reference + np.random.default_rng(3).normal(scale=0.3, size=reference.shape).astype(np.float32)
    maps = embed_snapshots([reference, nudged], "tsne", perplexity=15, reference_index=0)
    np.testing.assert_allclose(maps[0], frame.reference_, atol=1e-5)
    spread = np.linalg.norm(frame.reference_ - frame.reference_.mean(axis=0), axis=1).mean()
    drift = np.linalg.norm(maps[1] - maps[0], axis=1).mean()
    assert drift < 0.2 * spread  # a slightly changed snapshot lands near where the reference was


def test_tsne_needs_matching_rows():
    frame = MapFrame("tsne", perplexity=10).fit(clusters(60, 8))
    with pytest.raises(ValueError):
        frame.transform(clusters(50, 8))


def test_align_to_reference_undoes_a_similarity_transform():
    reference = np.random.default_rng(0).normal(size=(100, 2))
    angle = 0.7
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = 3.0 * reference @ rotation + np.array([5.0, -2.0])
    np.testing.assert_allclose(align_to_reference(moved, reference), reference, atol=1e-5)
    np.testing.assert_allclose(align_to_reference(reference, reference), reference, atol=1e-6)


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError):
        MapFrame("isomap").fit(clusters(20, 4))


def test_normalize_map_fits_the_box():
    coords = np.array([[0.0, 0.0], [4.0, 1.0], [2.0, 3.0]])
    unit = normalize_map(coords)
    assert unit.min() >= -1.0 and unit.max() <= 1.0 and np.isclose(np.abs(unit).max(), 1.0)
    np.testing.assert_allclose(normalize_map(coords, reference=coords * 2), coords / 4 - [1.0, 0.75])


# --- metrics ------------------------------------------------------------------------------------------

LABELS = np.array([0, 0, 1, 1, 1, 2, 2, 0])
PRED = np.array([0, 1, 1, 1, 2, 2, 0, 1])


def test_accuracy_and_confusion_matrix():
    assert accuracy(PRED, LABELS) == pytest.approx(4 / 8)
    cm = confusion_matrix(PRED, LABELS, num_classes=3)
    assert cm.dtype.kind == "i"
    np.testing.assert_array_equal(cm, [[1, 2, 0], [0, 2, 1], [1, 0, 1]])
    with pytest.raises(ValueError):
        confusion_matrix(PRED, LABELS, num_classes=2)


def test_per_class_accuracy_with_counts():
    result = per_class_accuracy(PRED, LABELS, num_classes=4)
    np.testing.assert_allclose(result.acc[:3], [1 / 3, 2 / 3, 1 / 2])
    assert np.isnan(result.acc[3])
    np.testing.assert_array_equal(result.count, [3, 3, 2, 0])


def test_misclassified_indices_per_cell_and_json_round_trip():
    cells = misclassified_indices(PRED, LABELS, num_classes=3)
    assert cells == {(0, 1): [1, 7], (1, 2): [4], (2, 0): [6]}
    records = misclassified_to_records(cells)
    assert misclassified_from_records(json.loads(json.dumps(records))) == cells


def test_mean_sd():
    assert mean_sd([0.5, 0.7]) == pytest.approx((0.6, np.sqrt(0.02)))
    assert mean_sd([0.4]) == (0.4, 0.0)
    assert all(np.isnan(v) for v in mean_sd([]))


def test_gap_closed():
    # Ganin & Lempitsky 2015, Table 1, SYN NUMBERS → SVHN
    assert gap_closed(0.8674, 0.9109, 0.9220) == pytest.approx(0.797, abs=1e-3)
    assert gap_closed(0.5, 0.5, 0.9) == 0.0
    assert gap_closed(0.5, 0.9, 0.9) == 1.0
    assert gap_closed(0.5, 0.4, 0.9) == pytest.approx(-0.25)
    assert np.isnan(gap_closed(0.7, 0.8, 0.7))
    assert np.isnan(gap_closed(0.5, float("nan"), 0.9))


# --- fixed samples ------------------------------------------------------------------------------------


def test_stratified_sample_keeps_class_proportions_and_is_deterministic():
    labels = np.random.default_rng(0).permutation(np.repeat([0, 1, 2], [600, 300, 100]))
    picked = stratified_sample_indices(labels, n=100, seed=4)
    assert len(picked) == 100 and len(np.unique(picked)) == 100
    assert np.all(np.diff(picked) > 0)
    np.testing.assert_array_equal(np.bincount(labels[picked]), [60, 30, 10])
    np.testing.assert_array_equal(picked, stratified_sample_indices(labels, n=100, seed=4))
    assert not np.array_equal(picked, stratified_sample_indices(labels, n=100, seed=5))


def test_stratified_sample_rounds_to_exact_size():
    labels = np.repeat([0, 1, 2], [5, 3, 2])
    picked = stratified_sample_indices(labels, n=7, seed=0)
    assert len(picked) == 7
    assert np.abs(np.bincount(labels[picked], minlength=3) - 7 * np.array([5, 3, 2]) / 10).max() < 1
    np.testing.assert_array_equal(stratified_sample_indices(labels, n=50, seed=0), np.arange(10))
