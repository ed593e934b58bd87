"""`--weights ssl:rotation`: self-supervised pretraining on a pretext task that needs no labels (Gidaris et al. 2018).

Every image is shown rotated by 0°, 90°, 180° and 270°, and the network learns to tell which rotation it sees:
to do that it must find where the top of a digit or a shape is, which needs features of the object itself.
The images are the source's (`ssl:rotation`) or the target's own training images (`ssl:rotation:target`);
their labels are never read. Trained with the one loop, as `scratch` on the four rotation classes, once, and
cached by everything that shapes it, like `--weights source`.
"""
from __future__ import annotations

from pathlib import Path

import torch

from tl_core.backbones import create_backbone
from tl_core.data import load_domain
from tl_core.networks.model import TransferModel
from tl_core.networks.pretrain import ROTATION_OF, has_source_network, save_state, stored_state
from tl_core.runs.config import RunConfig
from tl_core.strategies import build_strategy, suggested_lr
from tl_core.train.events import StageStarted
from tl_core.train.loop import FitContext, fit
from tl_core.train.task import Examples, Task

ROTATION_WEIGHTS = ("ssl:rotation", "ssl:rotation:target")
MAX_IMAGES = 3000  # images of the pool used (each in all four rotations): bounds the pretraining time


def pretext_dataset(config: RunConfig) -> str:
    """Whose images the rotation task uses: the source's, or the target's own (their labels unread)."""
    return config.target if config.weights == "ssl:rotation:target" else config.source


def rotation_key(config: RunConfig) -> RunConfig:
    """The config a rotation network is keyed (cached and shipped) by: its pretext images stand as its source."""
    return config.replace(source=f"{ROTATION_OF}{pretext_dataset(config)}")


def network_key(config: RunConfig) -> RunConfig | None:
    """What keys the network of ours a run starts from (task A's or a rotation network); None if it needs none."""
    if config.weights in ROTATION_WEIGHTS:
        return rotation_key(config)
    return config if config.weights == "source" else None


def needs_pretraining(config: RunConfig) -> bool:
    """Whether the run must pretrain its network first: none shipped or cached for its key and seed."""
    key = network_key(config)
    return key is not None and not has_source_network(key)


def all_rotations(images: torch.Tensor, limit: int, seed: int) -> Examples:
    """Up to `limit` of the images (a seeded choice), each rotated by 0°, 90°, 180° and 270°; label = quarter turns."""
    if len(images) > limit:
        images = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:limit]]
    rotated = torch.cat([torch.rot90(images, k, dims=(2, 3)) for k in range(4)])
    return Examples(rotated, torch.arange(4).repeat_interleave(len(images)))


def rotation_pretrained_state(config: RunConfig, device: torch.device, ctx: FitContext) -> dict[str, torch.Tensor]:
    """The rotation-pretrained model's weights: shipped, cached, or trained now with the run's seed and cached."""
    return stored_state(rotation_key(config), lambda path: pretrain_rotation(config, device, ctx, path))


def pretrain_rotation(config: RunConfig, device: torch.device, ctx: FitContext, path: Path) -> list[dict]:
    """Returns the loop's metrics rows (`target_acc` is the rotation accuracy on held-out images)."""
    dataset = pretext_dataset(config)
    ctx.emit(StageStarted(ctx.run_id, "pretrain",
                          f"Pretraining {config.backbone} to predict the rotation of {dataset} images, labels unused, "
                          f"for {config.pretrain_epochs} epochs, seed {config.seed} (cached for later runs)."))
    domain = load_domain(dataset, config.img_size)
    train = all_rotations(domain.train.images, MAX_IMAGES, config.seed)
    val = all_rotations(domain.val.images, MAX_IMAGES // 4, config.seed)
    train, val = (Examples(e.x.to(device), e.y.to(device)) for e in (train, val))
    task = Task(source=domain, target=domain, labelled=train, unlabelled=None, val=val, test=val)
    torch.manual_seed(config.seed)
    model = TransferModel(create_backbone(config.backbone, "random", config.img_size), 4).to(device)
    history = fit(model, task, build_strategy("scratch"), epochs=config.pretrain_epochs, batch_size=config.batch_size,
                  lr=suggested_lr("scratch"), weight_decay=config.weight_decay, seed=config.seed, device=device,
                  ctx=FitContext(ctx.run_id, "pretrain", ctx.emit, ctx.stop))
    save_state(model, path)
    return history
