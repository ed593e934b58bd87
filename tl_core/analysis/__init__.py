"""Pure functions on arrays: domain confusion, 2-D maps in one frame, per-class metrics, fixed samples.

Importing this package does not import umap (slow); ``MapFrame(method="umap")`` imports it on first fit.
"""
from .domain_confusion import DomainConfusion, NullBand, a_distance_from_error, domain_confusion, permutation_null_band
from .embedding import (METHODS, MapFrame, align_to_reference, embed_snapshots, normalize_map, place_on_map,
                        warm_up_umap)
from .knn import domain_mixing, embedding_scores, knn_class_accuracy
from .metrics import (PerClassAccuracy, accuracy, confusion_matrix, gap_closed, mean_sd, misclassified_from_records,
                      misclassified_indices, misclassified_to_records, per_class_accuracy)
from .sampling import SNAPSHOT_SAMPLES_PER_DOMAIN, stratified_sample_indices

__all__ = [
    "METHODS",
    "SNAPSHOT_SAMPLES_PER_DOMAIN",
    "DomainConfusion",
    "NullBand",
    "MapFrame",
    "PerClassAccuracy",
    "a_distance_from_error",
    "accuracy",
    "align_to_reference",
    "permutation_null_band",
    "confusion_matrix",
    "domain_confusion",
    "domain_mixing",
    "embed_snapshots",
    "embedding_scores",
    "gap_closed",
    "knn_class_accuracy",
    "mean_sd",
    "misclassified_from_records",
    "misclassified_indices",
    "misclassified_to_records",
    "normalize_map",
    "per_class_accuracy",
    "place_on_map",
    "stratified_sample_indices",
    "warm_up_umap",
]
