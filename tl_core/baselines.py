"""The matching 'without transfer' run of a configuration: the lecture's with/without-transfer picture."""
from __future__ import annotations

from tl_core.config import RunConfig
from tl_core.identity import Role


def without_transfer(config: RunConfig) -> RunConfig:
    """Same target, label budget, backbone, epochs and seed; random weights, nothing frozen, target labels only."""
    name = f"without transfer ({config.name})" if config.name else "without transfer"
    return config.replace(strategy="scratch", weights="random", freeze=0, settings={}, name=name, role=Role.BASELINE.value,
                          arm="without-transfer")
