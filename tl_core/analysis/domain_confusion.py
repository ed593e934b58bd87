"""How well a linear classifier tells source features from target features.

For binary problems the discrepancy distance w.r.t. linear classifiers is the accuracy of the best linear
classifier that separates the two samples (lectures, "asymmetric and symmetric transfer"). Its held-out
error ε gives the proxy A-distance of Ben-David et al., "Analysis of Representations for Domain
Adaptation", NIPS 2007 (used by Ganin et al., JMLR 2016, to show DANN features mix the domains):

    d_A = 2 (1 − 2ε),   ε = 1 − accuracy,   clipped to [0, 2]

Accuracy ≈ 0.5 (d_A ≈ 0): the domains are indistinguishable; accuracy ≈ 1 (d_A ≈ 2): fully separable.
A finite sample never gives exactly 0.5: `permutation_null_band` is the range the same probe reaches on the same
features with the domain labels shuffled, so "no shift" is a band, not a line.
"""
import math
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .arrays import as_features, one_thread
from .metrics import mean_sd

MIN_ROWS = 2  # per domain: the fewest that still allow a 2-fold cross-validation


@dataclass(frozen=True)
class DomainConfusion:
    acc: float  # mean held-out accuracy of the source-vs-target classifier, in [0, 1]
    a_distance: float  # proxy A-distance 2 (1 − 2 (1 − acc)), clipped to [0, 2]
    acc_sd: float  # sample standard deviation of the accuracy across folds


def a_distance_from_error(err: float) -> float:
    """Proxy A-distance 2 (1 − 2·err) clipped to [0, 2]; an error above 0.5 (worse than chance) gives 0."""
    return float(np.clip(2.0 * (1.0 - 2.0 * err), 0.0, 2.0))


def domain_confusion(
    source_feats: np.ndarray, target_feats: np.ndarray, seed: int = 0, folds: int = 5, max_dims: int = 64
) -> DomainConfusion:
    """Cross-validated accuracy of a logistic regression that predicts the domain of a feature vector.

    With fewer than ``folds`` rows per domain (at least ``MIN_ROWS``), as many folds as rows are used.
    Both domains are subsampled (``numpy.random.default_rng(seed)``) to the smaller count, so chance is 0.5.
    Each of the ``folds`` stratified, shuffled (``seed``) splits fits, on its training part only:
    standardization → PCA to ``max_dims`` dimensions when there are more → L2 logistic regression
    (C = 1, class_weight="balanced", lbfgs), on one thread (see ``one_thread``). PCA keeps the cost flat
    across backbones and makes accuracies of different feature widths comparable; a shift confined to
    low-variance directions can be missed. Measured for 1,000 + 1,000 points on 2 cores busy with other
    work: ≈0.4 s at 128 dims, ≈1 s at 512.
    """
    source, target = as_features(source_feats, "source_feats"), as_features(target_feats, "target_feats")
    if source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target features differ in width: {source.shape[1]} vs {target.shape[1]}")
    n = min(len(source), len(target))
    if n < MIN_ROWS:
        raise ValueError(f"need at least {MIN_ROWS} rows per domain for cross-validation, got {n}")
    folds = min(folds, n)  # a small dataset gets fewer folds rather than no measurement
    rng = np.random.default_rng(seed)
    source = source[np.sort(rng.choice(len(source), size=n, replace=False))]
    target = target[np.sort(rng.choice(len(target), size=n, replace=False))]
    x = np.concatenate([source, target])
    domain = np.repeat([0, 1], n)

    smallest_train_rows = 2 * n - math.ceil(2 * n / folds)
    dims = min(max_dims, smallest_train_rows)
    steps = [StandardScaler()]
    if x.shape[1] > dims:
        steps.append(PCA(n_components=dims, svd_solver="covariance_eigh"))
    steps.append(LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with one_thread():
        fold_acc = cross_val_score(make_pipeline(*steps), x, domain, cv=splits, scoring="accuracy")
    acc, acc_sd = mean_sd(fold_acc)
    return DomainConfusion(acc=acc, a_distance=a_distance_from_error(1.0 - acc), acc_sd=acc_sd)



@dataclass(frozen=True)
class NullBand:
    low: float  # 2.5th percentile of the probe's accuracy with no shift
    high: float  # 97.5th percentile
    median: float
    n_per_domain: int
    repeats: int


PERMUTATION_DRAWS = 200  # enough that the 2.5th and 97.5th percentiles are not the extreme draws (5 lie beyond each)


def permutation_null_band(source_feats: np.ndarray, target_feats: np.ndarray, draws: int = PERMUTATION_DRAWS,
                          seed: int = 0, folds: int = 5) -> NullBand:
    """The no-shift band of `domain_confusion` on these very features: a permutation null. Both samples are cut
    to the smaller count n (as the probe does), pooled, and `draws` times split at random into two "domains"
    of n; the probe's accuracy on each split is what it reads when the domain label carries no information.
    The band is the middle 95% (2.5th and 97.5th percentiles) of those accuracies.

    Unlike a Gaussian surrogate, this keeps the features' own dimension, spread and correlations, so the band is
    as wide as this probe's noise on this sample really is. A probe reading inside the band means "no linear
    difference found", not "same features": collapsed features also read 0.5 (look at target accuracy too)."""
    source, target = as_features(source_feats, "source_feats"), as_features(target_feats, "target_feats")
    n = min(len(source), len(target))
    if n < MIN_ROWS or draws < 2:
        raise ValueError(f"need at least {MIN_ROWS} rows per domain and 2 draws, got {n} and {draws}")
    rng = np.random.default_rng(seed)
    pool = np.concatenate([source[np.sort(rng.choice(len(source), n, replace=False))],
                           target[np.sort(rng.choice(len(target), n, replace=False))]])
    accs = []
    for r in range(draws):
        order = rng.permutation(2 * n)
        accs.append(domain_confusion(pool[order[:n]], pool[order[n:]], seed=seed + r, folds=folds).acc)
    low, median, high = np.percentile(accs, [2.5, 50, 97.5])
    return NullBand(float(low), float(high), float(median), n, draws)
