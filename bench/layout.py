"""What keeping the network channels-last buys, measured side by side in one run.

`tl_core.networks.model.TransferModel` keeps its convolution kernels channels-last (NHWC), so every feature map
is too. This bench times the same small_cnn (32 px, a TransferModel) in both layouts on the same images:
a training step of DANN's shape (source and target batch through the features as one batch of 2 × 64, backward,
SGD with momentum) and an evaluation pass (batch 256, no gradient), in interleaved repeats — each repeat times
both layouts, alternating which goes first, so a load that comes and goes touches both alike — and prints the
median ratio (default layout's time / channels-last's), and how far the two layouts' losses differ.

    python bench/layout.py [--threads 1] [--device cpu] [--quick]

Headline: `RESULT layout=channels_last train_speedup=… eval_speedup=… train_ms=… eval_ms=… loss_diff=…`.
"""
from __future__ import annotations

import common  # noqa: F401  (puts the repository root on sys.path)
import torch
from common import Clock, load_now, machine_line, median, parse_args, say, table
from torch.nn import functional as F

from tl_core.backbones import create_backbone
from tl_core.data import load_domain
from tl_core.machine.device import pick_device
from tl_core.networks.model import TransferModel

BATCH = 64
LAYOUTS = {"channels-last (the lab's)": torch.channels_last, "default (NCHW)": torch.contiguous_format}


def _model(layout: torch.memory_format, device: torch.device) -> TransferModel:
    torch.manual_seed(0)
    return TransferModel(create_backbone("small_cnn", "random", 32), 10).to(device, memory_format=layout)


def _train_ms(model: TransferModel, images: torch.Tensor, labels: torch.Tensor, steps: int) -> tuple[float, float]:
    """Median milliseconds of a training step (after two warm-up steps) and the last loss."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    times, loss = [], torch.zeros(())
    for step in range(steps + 2):
        clock = Clock()
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step >= 2:
            times.append(clock.wall_s * 1e3)
    return median(times), float(loss)


@torch.no_grad()
def _eval_ms(model: TransferModel, images: torch.Tensor, passes: int) -> float:
    model.eval()
    model(images)
    clock = Clock()
    for _ in range(passes):
        model(images)
    return clock.wall_s * 1e3 / passes


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    device = pick_device(args.device)
    repeats, steps, passes = (3, 5, 5) if args.quick else (7, 20, 20)
    say(f"bench/layout.py{' --quick' if args.quick else ''} on {machine_line(args.device)}")
    say(f"{repeats} interleaved repeats; a repeat: {steps} training steps of 2 × {BATCH} images and {passes} "
        f"evaluation passes of {4 * BATCH} images, in each layout")
    domain = load_domain("synth-digits", 32)
    images = domain.train.images[:2 * BATCH].to(device)
    labels = domain.train.labels[:2 * BATCH].to(device)
    eval_images = domain.test.images[:4 * BATCH].to(device)
    results: dict[str, dict[str, list[float]]] = {name: {"train": [], "eval": [], "loss": []} for name in LAYOUTS}
    for r in range(repeats):
        order = list(LAYOUTS.items()) if r % 2 == 0 else list(LAYOUTS.items())[::-1]
        for name, layout in order:
            train_ms, loss = _train_ms(_model(layout, device), images, labels, steps)
            results[name]["train"].append(train_ms)
            results[name]["loss"].append(loss)
            results[name]["eval"].append(_eval_ms(_model(layout, device), eval_images, passes))
        say(f"  repeat {r + 1}/{repeats}: " + ", ".join(
            f"{name} step {results[name]['train'][-1]:.1f} ms, eval {results[name]['eval'][-1]:.1f} ms"
            for name in LAYOUTS))
    last, default = (results[name] for name in LAYOUTS)
    train_speedup = median(d / c for d, c in zip(default["train"], last["train"]))
    eval_speedup = median(d / c for d, c in zip(default["eval"], last["eval"]))
    loss_diff = max(abs(a - b) for a, b in zip(last["loss"], default["loss"]))
    say()
    say(table(["layout", "training step (median ms)", "evaluation pass (median ms)"],
              [[name, f"{median(results[name]['train']):.1f}", f"{median(results[name]['eval']):.1f}"]
               for name in LAYOUTS], title="bench/layout.py"))
    say(f"channels-last: training {train_speedup:.2f}× and evaluation {eval_speedup:.2f}× faster (median of the "
        f"repeats' ratios); the losses after {steps + 2} steps differ by at most {loss_diff:.1e}; load average now "
        f"{load_now()}.")
    say(f"RESULT layout=channels_last train_speedup={train_speedup:.2f} eval_speedup={eval_speedup:.2f} "
        f"train_ms={median(last['train']):.1f} eval_ms={median(last['eval']):.1f} loss_diff={loss_diff:.1e}")


if __name__ == "__main__":
    main()
