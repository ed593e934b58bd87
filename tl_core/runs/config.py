"""The run configuration: plain data that round-trips to JSON and that a UI can render."""
from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import Any

from tl_core.runs import identity
from tl_core.runs.schema import FieldSchema, schema_of, spec

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class RunConfig:
    """Everything that decides a run. Strategy-specific knobs live in `settings` (see each strategy's Settings).

    Each field declares its help, range, choices and unit once (`spec`); read them with `config_schema()`.
    """

    source: str = spec("synth-digits", "Task A: the dataset the network learns first (used for pretraining and "
                       "by adaptation strategies); a dataset name or folder:PATH.", label="source dataset")
    target: str = spec("digits-m", "Task B: the dataset the network is adapted to; target accuracy is measured on "
                       "its test split.", label="target dataset")
    backbone: str = spec("small_cnn", "The network that turns images into features (any timm model name); "
                         "small_cnn is fast on a CPU.")
    weights: str = spec("source", "Where the backbone's starting weights come from (random, imagenet, source, "
                        "ssl:rotation, ssl:rotation:target or file:PATH): this is what gets transferred.")
    strategy: str = spec("fine-tune", "How the network is trained on the target (see `python -m tl_core "
                         "strategies`).")
    freeze: int = spec(1, "How many of the backbone's layer groups (from the input side) keep their transferred "
                       "weights fixed.", label="freeze depth", low=0, unit="layer groups")
    labels_per_class: int | None = spec(10, "How many labelled target images per class the run may use (all of "
                                        "them if not given); fewer labels make transfer matter more.", low=1, high=100_000)
    epochs: int = spec(3, "Passes over the labelled data; each epoch adds a point to the curves.", low=1,
                       high=500)
    batch_size: int = spec(64, "Images per training step.", low=1, high=1024)
    lr: float = spec(3e-3, "The step size of the optimiser; lower it if the loss explodes.", label="learning rate",
                     low=1e-6, high=10.0)
    weight_decay: float = spec(1e-4, "How strongly the optimiser pulls the weights towards zero.", low=0.0,
                               high=1.0)
    img_size: int = spec(32, "Images are resized to this many pixels square; small sizes train fast on a CPU.",
                         label="image size", low=16, high=224, unit="px")
    seed: int = spec(0, "Fixes data order, initialisation and the source network a run starts from (each seed has "
                        "its own; small_cnn's at 32 px are shipped for seeds 0–4), so a run can be repeated "
                        "exactly.", low=0,
                     high=2**31 - 1)
    device: str = spec("auto", "Where to train (auto: cuda, else mps, else cpu).", choices=DEVICE_CHOICES)
    settings: dict[str, Any] = spec(help="The strategy's own settings (see its Settings).", default_factory=dict)
    pretrain_epochs: int = spec(20, "Epochs on the source task when the weights are 'source' (a shipped network "
                                "when one matches, else trained once and cached).",
                                label="pretraining epochs", low=1, high=1000)
    measure_forgetting: bool = spec(False, "Measure task A's accuracy after every epoch with task A's own output "
                                    "layer, and at the end with A's own BatchNorm statistics: how much of A "
                                    "fine-tuning forgets. Needs weights 'source'; costs a pass over 1,000 task-A "
                                    "images an epoch.", label="measure forgetting")
    snapshot_every: int = spec(1, "Save the features of a fixed image sample every N epochs (0: only at the end), "
                               "for the maps.", low=0, high=10_000, unit="epochs")
    snapshot_size: int = spec(1000, "Images per domain in each feature snapshot; 0 turns maps and domain "
                              "confusion off.", low=0, high=20_000, unit="images per domain")
    name: str = spec("", "A label for people only, shown in the charts and on the Runs page: nothing pairs, plans "
                     "or judges runs by it.", label="run name", max_chars=120)
    role: str = spec("main", "What the run is for (tl_core.runs.identity.Role).")
    experiment: str = spec("", "The experiment it belongs to, built and parsed by tl_core.runs.identity (\"\" = a lone "
                           "run).")
    arm: str = spec("", "Which arm of that experiment (chosen by the experiment's planner).")

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
            data = identity.upgrade_legacy(data)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> "RunConfig":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)


@functools.cache
def config_schema() -> dict[str, FieldSchema]:
    """{field name: its help, range, choices and unit}: what the validator, the CLI and the form read."""
    return schema_of(RunConfig)
