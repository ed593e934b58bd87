"""Load a finished run's model as a frozen teacher."""
from __future__ import annotations

from pathlib import Path

import torch
from torch.nn import functional as F

from tl_core.backbones import create_backbone
from tl_core.errors import ConfigError
from tl_core.networks.model import TransferModel, normalisation
from tl_core.records.run_dir import RunDir
from tl_core.runs.config import RunConfig


def teacher_record(run_id: str, runs_dir: Path) -> tuple[RunConfig, dict]:
    """The teacher's config and summary, from the store the student is recorded in. `run_id` is a run's name in
    that store, never a path: a setting from a browser must not make the server read a run (or any config.json)
    somewhere else, and the refusal comes before the disk is asked."""
    if not isinstance(run_id, str) or not run_id or run_id in (".", "..") or any(c in run_id for c in "/\\\0"):
        raise ConfigError(f"'{run_id}' is not a run id: pick a teacher from the Runs page or `python -m tl_core "
                          "runs` (a name like 20260101-120000-fine-tune-1a2b3c, in the same runs folder).")
    run = RunDir(Path(runs_dir) / run_id)
    if not (run.path / "config.json").exists():
        raise ConfigError(f"No run called '{run_id}' in {runs_dir}: pick a teacher from the Runs page or "
                          "`python -m tl_core runs --runs-dir …` (the teacher must be in the same runs folder).")
    return run.read_config(), run.read_summary()


class Teacher(torch.nn.Module):
    """A frozen model in eval mode that resizes inputs to the size it was trained at."""

    def __init__(self, model: TransferModel, img_size: int):
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.img_size = img_size

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.model.normalise(images)
        if x.shape[-1] != self.img_size:
            x = F.interpolate(x, size=(self.img_size, self.img_size), mode="bilinear", align_corners=False)
        return self.model.head(self.model.backbone(x))


def load_teacher(run_id: str, runs_dir: Path, device: torch.device) -> Teacher:
    config, _ = teacher_record(run_id, runs_dir)
    run = RunDir(Path(runs_dir) / run_id)
    state = run.load_weights()
    num_classes = state["head.weight"].shape[0]
    backbone = create_backbone(config.backbone, "random", config.img_size)
    model = TransferModel(backbone, num_classes, *normalisation(backbone, config.weights))
    model.load_state_dict({k: v for k, v in state.items() if not k.startswith("domain_head.")}, strict=True)
    return Teacher(model.to(device), config.img_size)
