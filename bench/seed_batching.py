"""Would training several seeds as one vectorized network speed up a seed table? Measured side by side in one run.

Issue 21 suggests "vectorized seeds" to bring bench/domain_adaptation.py's ten-seed table under 20 minutes on a
CPU: stack K seeds' networks (`torch.func.stack_module_state`) and train them in one `vmap`ped step instead of K
steps one after another. This bench times the three ways of spending the same work — K training steps of DANN's
shape (2 × 64 images through small_cnn in the lab's channels-last layout, backward, SGD with momentum) — on the
same images, all in fp32 (under `vmap`, BatchNorm fails inside bf16 autocast in torch 2.14):

- **one by one** — K separate networks, one step each (what the table does now);
- **vmap** — the K networks stacked, one `vmap(grad(…))` step over all of them, then SGD on the stacked weights;
- **one wide batch** — one network, one step on K × 128 images: the most any batching of the same work could buy
  (a vmap of convolutions can at best match it).

Interleaved repeats, rotating order. It prints each way's median time per seed-step and its ratio to one by one
(below 1: faster).

    python bench/seed_batching.py [--seeds-at-once 8] [--threads 1] [--device cpu] [--quick]

Headline: `RESULT way=… per_seed_step_ms=… ratio_to_one_by_one=… seeds=K`.
"""
from __future__ import annotations

import copy

import common  # noqa: F401  (puts the repository root on sys.path)
import torch
from common import Clock, load_now, machine_line, median, parse_args, say, table
from torch.func import functional_call, grad, stack_module_state, vmap
from torch.nn import functional as F

from tl_core.backbones import create_backbone
from tl_core.data import load_domain
from tl_core.machine.device import pick_device
from tl_core.networks.model import TransferModel

BATCH = 2 * 64  # a DANN step: source and target batch through the features as one batch
NAMES = {"one_by_one": "one by one (K networks, K steps)", "vmap": "vmap (K stacked networks, one step)",
         "wide_batch": "one wide batch (1 network, K × 128 images)"}


def _networks(k: int, device: torch.device) -> list[TransferModel]:
    torch.manual_seed(0)
    return [TransferModel(create_backbone("small_cnn", "random", 32), 10).to(device, memory_format=torch.channels_last)
            for _ in range(k)]


def _timed(step, steps: int) -> float:
    """Median milliseconds of `step()` after two warm-up calls."""
    times = []
    for i in range(steps + 2):
        clock = Clock()
        step()
        if i >= 2:
            times.append(clock.wall_s * 1e3)
    return median(times)


def _sgd_step(model, images, labels, optimizer) -> None:
    loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def one_by_one_ms(k, images, labels, steps, device) -> float:
    nets = _networks(k, device)
    optimizers = [torch.optim.SGD(n.parameters(), lr=0.01, momentum=0.9) for n in nets]
    for n in nets:
        n.train()
    return _timed(lambda: [_sgd_step(n, images, labels, o) for n, o in zip(nets, optimizers)], steps)


def vmap_ms(k, images, labels, steps, device) -> float:
    nets = _networks(k, device)
    params, buffers = stack_module_state(nets)
    template = copy.deepcopy(nets[0]).to("meta").train()
    optimizer = torch.optim.SGD(list(params.values()), lr=0.01, momentum=0.9)

    def loss(p, b, x, y):
        return F.cross_entropy(functional_call(template, (p, b), (x,)), y)

    grads_of = vmap(grad(loss), in_dims=(0, 0, None, None), randomness="different")

    def step():
        for name, g in grads_of(params, buffers, images, labels).items():
            params[name].grad = g
        optimizer.step()

    return _timed(step, steps)


def wide_batch_ms(k, images, labels, steps, device) -> float:
    net = _networks(1, device)[0].train()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    wide_images = images.repeat(k, 1, 1, 1).contiguous(memory_format=torch.channels_last)
    return _timed(lambda: _sgd_step(net, wide_images, labels.repeat(k), optimizer), steps)


WAYS = {"one_by_one": one_by_one_ms, "vmap": vmap_ms, "wide_batch": wide_batch_ms}


def _options(parser) -> None:
    parser.add_argument("--seeds-at-once", type=int, default=8, help="K: the seeds trained together (default 8)")


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra=_options)
    device = pick_device(args.device)
    k = args.seeds_at_once
    repeats, steps = (2, 3) if args.quick else (5, 8)
    say(f"bench/seed_batching.py{' --quick' if args.quick else ''} on {machine_line(args.device)}")
    say(f"All ways in fp32. K = {k} seeds; {repeats} interleaved repeats of {steps} timed steps per way; "
        f"a seed-step: {BATCH} images")
    domain = load_domain("synth-digits", 32)
    images = domain.train.images[:BATCH].to(device).contiguous(memory_format=torch.channels_last)
    labels = domain.train.labels[:BATCH].to(device)
    per_seed: dict[str, list[float]] = {name: [] for name in WAYS}
    names = list(WAYS)
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            per_seed[name].append(WAYS[name](k, images, labels, steps, device) / k)
        say(f"  repeat {r + 1}/{repeats}: " + ", ".join(f"{n} {per_seed[n][-1]:.1f} ms/seed-step" for n in WAYS))
    base = per_seed["one_by_one"]
    rows, lines = [], []
    for name, times in per_seed.items():
        ratio = median(t / b for t, b in zip(times, base))
        rows.append([NAMES[name], f"{median(times):.1f}", f"{ratio:.2f}"])
        lines.append(f"RESULT way={name} per_seed_step_ms={median(times):.1f} ratio_to_one_by_one={ratio:.2f} "
                     f"seeds={k}")
    say()
    say(table(["way", "per seed-step (median ms)", "its time / one by one"], rows, title="bench/seed_batching.py"))
    say(f"Load average now {load_now()}.")
    for line in lines:
        say(line)


if __name__ == "__main__":
    main()
