"""Backbones: any timm model as a feature extractor, its layer groups, freezing, and where weights come from.

Importing this package registers `small_cnn` with timm.
"""
from tl_core.backbones import small_cnn  # noqa: F401  (registers "small_cnn" with timm)
from tl_core.backbones.catalog import CURATED, BackboneInfo, check_offered, describe_backbone, list_backbones
from tl_core.backbones.create import create_backbone, feature_dim
from tl_core.backbones.groups import LayerGroup, count_params, freeze_first, layer_groups
from tl_core.backbones.weights import load_state_into, read_weights_file

__all__ = [
    "CURATED",
    "BackboneInfo",
    "LayerGroup",
    "check_offered",
    "count_params",
    "create_backbone",
    "describe_backbone",
    "feature_dim",
    "freeze_first",
    "layer_groups",
    "list_backbones",
    "load_state_into",
    "read_weights_file",
]
