"""The run configuration: plain data that round-trips to JSON and that a UI can render."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunConfig:
    """Everything that decides a run. Strategy-specific knobs live in `settings` (see each strategy's Settings)."""

    source: str = "synth-digits"
    target: str = "digits"
    backbone: str = "small_cnn"
    weights: str = "source"  # random | imagenet | source | file:PATH
    strategy: str = "fine-tune"
    freeze: int = 1  # number of leading layer groups frozen
    labels_per_class: int | None = 5  # None: every labelled target image
    epochs: int = 5
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    img_size: int = 32
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | mps
    settings: dict[str, Any] = field(default_factory=dict)
    pretrain_epochs: int = 4  # epochs on the source task when weights == "source"
    snapshot_every: int = 1  # take a feature snapshot every N epochs (and at the end); 0: only at the end
    snapshot_size: int = 1000  # images per domain in each feature snapshot; 0 disables snapshots
    name: str = ""  # a label for people only: nothing pairs, plans or judges runs by it
    role: str = "main"  # what the run is for (tl_core.identity.Role)
    experiment: str = ""  # the experiment it belongs to, built and parsed by tl_core.identity ("" = a lone run)
    arm: str = ""  # which arm of that experiment (chosen by the experiment's planner)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        """From a dict written by `to_dict`, now or before roles existed (their `group` is upgraded once, here)."""
        if not isinstance(data, dict):
            raise ValueError(f"A run configuration must be a JSON object, not {type(data).__name__}.")
        if "role" not in data:
            from tl_core.identity import upgrade_legacy

            data = upgrade_legacy(data)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> "RunConfig":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    @property
    def transfers(self) -> bool:
        """Does this run start from, or learn from, knowledge gained elsewhere (pretrained weights, the source
        task's labels, a teacher)? The one answer every colour, label and comparison reads."""
        from tl_core.strategies import strategy_class

        return self.weights != "random" or strategy_class(self.strategy).transfers_knowledge
