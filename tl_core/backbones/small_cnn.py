"""`small_cnn`: a LeNet-style CNN registered with timm, so it is built and handled like any timm model.

    timm.create_model("small_cnn", num_classes=0)   # pooled 128-d features, like every backbone here

It is the CPU workhorse of the lab: three conv blocks (conv-BN-maxpool-ReLU, 16-32-64 channels) and a
hidden linear layer to 128 features. The widths are kept small for speed: at 32 px, 32-64-128 channels
train about 2.5× slower on a CPU, mostly in max-pooling and BatchNorm over the full-resolution first
block. Global average pooling makes any input of 8 px or more work; the default configuration says
3×32×32 inputs normalised with mean = std = 0.5.
"""
import torch
from timm.layers import SelectAdaptivePool2d
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from torch import nn

# Read by `@register_model` from this module: timm's pretrained cfgs (no published weights).
_CFG = {
    "num_classes": 10,
    "input_size": (3, 32, 32),
    "pool_size": (4, 4),  # final map at 32 px
    "crop_pct": 1.0,
    "interpolation": "bilinear",
    "mean": (0.5, 0.5, 0.5),
    "std": (0.5, 0.5, 0.5),
    "first_conv": "stem.0",
    "classifier": "fc",
}
default_cfgs = generate_default_cfgs({"small_cnn": _CFG, "small_cnn_wide": _CFG, "small_cnn_tiny": _CFG})


class ConvBlock(nn.Sequential):
    """conv3×3 → BatchNorm → ReLU and 2×2 max-pool (halves the resolution).

    The pool comes before the ReLU: ReLU never decreases, so it commutes with a maximum, and the values and
    gradients are exactly those of ReLU-then-pool (tests/test_backbones.py), with the ReLU and its backward pass
    on a quarter of the elements (a training step 3% faster on the CPU, `python bench/layout.py`). The learned
    layers keep the indices they had with ReLU-then-pool (conv 0, BatchNorm 1), so saved weights load either way.
    """

    def __init__(self, in_chs: int, out_chs: int):
        super().__init__(
            nn.Conv2d(in_chs, out_chs, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_chs),
            nn.MaxPool2d(2),
            nn.ReLU(inplace=True),
        )


class SmallCNN(nn.Module):
    """stem (first conv block) → blocks (the other conv blocks) → global pool → pre_logits (linear + ReLU) → fc.

    `num_features` is the width of the last feature map (64), `head_hidden_size` the width of the pooled
    pre-logits features that `num_classes=0` returns (128).
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_chans: int = 3,
        widths: tuple[int, ...] = (16, 32, 64),
        hidden_size: int = 128,
        global_pool: str = "avg",
        drop_rate: float = 0.0,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.drop_rate = drop_rate
        self.stem = ConvBlock(in_chans, widths[0])
        self.blocks = nn.Sequential(*(ConvBlock(a, b) for a, b in zip(widths[:-1], widths[1:])))
        self.num_features = widths[-1]
        self.head_hidden_size = hidden_size
        self.global_pool = SelectAdaptivePool2d(pool_type=global_pool, flatten=True)
        self.pre_logits = nn.Sequential(nn.Linear(self.num_features, hidden_size), nn.ReLU(inplace=True))
        self.head_drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(hidden_size, num_classes) if num_classes > 0 else nn.Identity()

    def group_matcher(self, coarse: bool = False) -> dict[str, str]:
        """Regexes over parameter names, as in timm's ResNet. `pre_logits` and `fc` match nothing on
        purpose: timm puts unmatched layers into one last group (the head)."""
        return {"stem": r"^stem", "blocks": r"^blocks\.(\d+)"}

    def get_classifier(self, name_only: bool = False) -> str | nn.Module:
        return "fc" if name_only else self.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        self.num_classes = num_classes
        if global_pool is not None:
            self.global_pool = SelectAdaptivePool2d(pool_type=global_pool, flatten=True)
        self.fc = nn.Linear(self.head_hidden_size, num_classes) if num_classes > 0 else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.pre_logits(self.global_pool(x))
        x = self.head_drop(x)
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


@register_model
def small_cnn(pretrained: bool = False, **kwargs) -> SmallCNN:
    """LeNet-style CNN: 16-32-64 channels, 128-d features, 32 k parameters."""
    return build_model_with_cfg(SmallCNN, "small_cnn", pretrained, **kwargs)


@register_model
def small_cnn_wide(pretrained: bool = False, **kwargs) -> SmallCNN:
    """small_cnn at twice the width: 32-64-128 channels, 256-d features, 126 k parameters; about 2.5× slower.
    For asking whether capacity limits a result (`bench/domain_adaptation.py --backbone small_cnn_wide`)."""
    kwargs = {"widths": (32, 64, 128), "hidden_size": 256, **kwargs}
    return build_model_with_cfg(SmallCNN, "small_cnn_wide", pretrained, **kwargs)


@register_model
def small_cnn_tiny(pretrained: bool = False, **kwargs) -> SmallCNN:
    """small_cnn at a quarter of the width: 8-16-32 channels, 64-d features, about 9 k parameters. The student
    that distillation compresses small_cnn into (lesson 5)."""
    kwargs = {"widths": (8, 16, 32), "hidden_size": 64, **kwargs}
    return build_model_with_cfg(SmallCNN, "small_cnn_tiny", pretrained, **kwargs)
