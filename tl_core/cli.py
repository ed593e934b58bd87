"""`python -m tl_core train|datasets|backbones|strategies|runs` — the engine from a terminal.

Bad input prints one line and exits with status 2; a run that fails records why and exits 1.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from tl_core.config import RunConfig
from tl_core.errors import UserError

DEFAULTS = RunConfig()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2 (argparse prints the whole usage)
        self.exit(2, f"error: {message} (see `python -m tl_core {self.prog.split()[-1]} --help`)\n")


def _labels(text: str) -> int | None:
    if text.lower() == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"labels per class must be a whole number or 'all', not {text!r}")


def _setting(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"a strategy setting is KEY=VALUE, not {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m tl_core", description="Transfer Lab engine.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = sub.add_parser("train", help="train one run and record it")
    train.add_argument("--source", default=DEFAULTS.source, help="source dataset (task A)")
    train.add_argument("--target", default=DEFAULTS.target, help="target dataset (task B)")
    train.add_argument("--backbone", default=DEFAULTS.backbone, help="any timm model name, e.g. small_cnn, resnet18")
    train.add_argument("--weights", default=DEFAULTS.weights, help="random | imagenet | source | file:PATH")
    train.add_argument("--strategy", default=DEFAULTS.strategy, help="see `python -m tl_core strategies`")
    train.add_argument("--freeze", type=int, default=DEFAULTS.freeze, help="number of leading layer groups frozen")
    train.add_argument("--labels-per-class", type=_labels, default=DEFAULTS.labels_per_class,
                       help="labelled target images per class, or 'all'")
    train.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
    train.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    train.add_argument("--lr", type=float, default=None,
                       help="default: the strategy's own (see `python -m tl_core strategies`)")
    train.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay)
    train.add_argument("--img-size", type=int, default=DEFAULTS.img_size)
    train.add_argument("--seed", type=int, default=DEFAULTS.seed)
    train.add_argument("--device", default=DEFAULTS.device, help="auto | cpu | cuda | mps")
    train.add_argument("--pretrain-epochs", type=int, default=DEFAULTS.pretrain_epochs,
                       help="epochs on the source task for --weights source")
    train.add_argument("--snapshot-every", type=int, default=DEFAULTS.snapshot_every)
    train.add_argument("--snapshot-size", type=int, default=DEFAULTS.snapshot_size)
    train.add_argument("--set", dest="settings", type=_setting, action="append", default=[],
                       metavar="KEY=VALUE", help="a strategy setting, e.g. --set lr_decay=0.5 (repeatable)")
    train.add_argument("--name", default="")
    train.add_argument("--runs-dir", default=None, help="where run records go (default $TL_RUNS_DIR, else runs/)")
    train.add_argument("--json", action="store_true", help="end with the run summary as one JSON line")
    sub.add_parser("datasets", help="list datasets and whether they work offline")
    sub.add_parser("backbones", help="list the curated backbones with their layer groups")
    sub.add_parser("strategies", help="list the strategies and their settings")
    sub.add_parser("feasibility", help="will transfer work on a folder or .zip of class folders? (see --help)",
                   add_help=False)
    runs = sub.add_parser("runs", help="list recorded runs")
    runs.add_argument("--runs-dir", default=None)
    return parser


def _config(args: argparse.Namespace) -> RunConfig:
    from tl_core.strategies import suggested_lr

    lr = args.lr if args.lr is not None else suggested_lr(args.strategy)
    return RunConfig(
        source=args.source, target=args.target, backbone=args.backbone, weights=args.weights,
        strategy=args.strategy, freeze=args.freeze, labels_per_class=args.labels_per_class, epochs=args.epochs,
        batch_size=args.batch_size, lr=lr, weight_decay=args.weight_decay, img_size=args.img_size,
        seed=args.seed, device=args.device, settings=dict(args.settings), pretrain_epochs=args.pretrain_epochs,
        snapshot_every=args.snapshot_every, snapshot_size=args.snapshot_size, name=args.name)


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def _train(args: argparse.Namespace) -> int:
    from tl_core.cli_progress import ProgressPrinter
    from tl_core.runner import execute_run, prepare_run

    run = prepare_run(_config(args), args.runs_dir)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    printer = ProgressPrinter()
    summary = execute_run(run, [printer], stop)
    printer.close()
    keys = ("status", "reason", "target_acc", "val_acc", "train_acc", "domain_confusion_acc", "a_distance",
            "epochs_done", "seconds", "images_per_s", "device_name", "run_dir")
    print(_table([(k, _fmt(summary.get(k))) for k in keys if summary.get(k) not in (None, "")]))
    if args.json:
        print(json.dumps(summary, sort_keys=True, default=float))
    if summary["status"] == "finished":
        return 0
    if summary["status"] == "stopped":
        return 130
    print(f"error: {summary['reason']} {summary.get('hint', '')}".rstrip(), file=sys.stderr)
    return 2 if summary.get("error_kind") == "user" else 1


def _datasets() -> int:
    from tl_core.data import list_datasets

    for info in list_datasets():
        offline = "works offline" if info.offline else "needs a download"
        print(f"{info.name:14} {info.kind:11} {offline:16} {info.description}")
    print("folder:PATH    folder      works offline    any folder with one sub-folder per class")
    return 0


def _backbones() -> int:
    from tl_core.backbones import CURATED, describe_backbone

    for name in CURATED:
        info = describe_backbone(name)
        groups = ", ".join(f"{g.name} ({g.param_count:,})" for g in info.groups)
        weights = ("no published weights" if not info.has_imagenet else
                   "imagenet cached" if info.imagenet_cached else "imagenet needs a download")
        print(f"{name:22} {info.param_count:>10,} params  {len(info.groups)} groups: {groups}  [{weights}]")
    print("Any other timm model name works too (random, imagenet or file: weights).")
    return 0


def _strategies() -> int:
    import dataclasses

    from tl_core.strategies import strategy_class, strategy_names, suggested_lr

    for name in strategy_names():
        cls = strategy_class(name)
        settings = ", ".join(f"{f.name}={f.default}" for f in dataclasses.fields(cls.Settings)) or "no settings"
        print(f"{name:14} {cls.summary}  [lr={suggested_lr(name)}; {settings}]")
    return 0


def _runs(args: argparse.Namespace) -> int:
    from tl_core.paths import runs_dir
    from tl_core.records.store import RunStore

    store = RunStore(runs_dir(args.runs_dir))
    store.reindex()
    for row in store.list():
        acc = "-" if row["target_acc"] is None else f"{row['target_acc']:.3f}"
        print(f"{row['run_id']:40} {row['status']:13} {row['strategy']:13} {row['source']}→{row['target']:12} "
              f"{row['backbone']:16} target_acc {acc}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["feasibility"]:
        from tl_core.feasibility.cli import main as feasibility_main

        return feasibility_main(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # bad arguments (status 2) or --help (status 0)
        return int(exit_.code or 0)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "runs":
            return _runs(args)
        return {"datasets": _datasets, "backbones": _backbones, "strategies": _strategies}[args.command]()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
