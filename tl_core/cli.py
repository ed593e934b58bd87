"""`python -m tl_core train|select|datasets|backbones|strategies|runs` — the engine from a terminal.

Bad input prints one line and exits with status 2; a run that fails records why and exits 1. Each subcommand
imports the engine it needs inside its own function, so `--help` and a mistyped option answer without loading
timm, the datasets or the training loop.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading

from tl_core.errors import ConfigError, UserError
from tl_core.runs.config import RunConfig, config_schema
from tl_core.runs.schema import FieldSchema, kind_noun, parse_text
from tl_core.runs.status import Status
from tl_core.serving.executors import EXECUTORS

DEFAULTS = RunConfig()
# settings come as --set; role, experiment and arm belong to the experiment planners (tl_core.runs.identity)
CONFIG_OPTIONS = [name for name in config_schema() if name not in ("settings", "role", "experiment", "arm")]
PRETRAIN_OPTIONS = ["source", "target", "weights", "backbone", "img_size", "pretrain_epochs", "batch_size",
                    "weight_decay", "seed", "device"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2 (argparse prints the whole usage)
        self.exit(2, f"error: {message} (see `python -m tl_core {self.prog.split()[-1]} --help`)\n")


def _typed(schema: FieldSchema):
    """argparse's `type` for a config field: strict parsing, with the validator's wording."""
    noun = kind_noun(schema.kind) + (" or 'all'" if schema.optional else "")

    def parse(text: str):
        if schema.optional and text.lower() == "all":
            return None
        try:
            return parse_text(schema.kind, text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{schema.label} must be {noun}, not {text!r}") from None

    return parse


def _help(schema: FieldSchema) -> str:
    bounds = " ".join(part for part in (schema.range_text(), schema.unit) if part)
    return f"{schema.help.rstrip('.')} ({bounds})." if bounds else schema.help


def _setting(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"a strategy setting is KEY=VALUE, not {text!r}")
    key, value = text.split("=", 1)
    return key, value


def _add_config_options(parser: argparse.ArgumentParser, names: list[str] = CONFIG_OPTIONS) -> None:
    for name in names:
        schema = config_schema()[name]
        option = dict(default=getattr(DEFAULTS, name), help=_help(schema), choices=schema.choices)
        if schema.kind != "str":
            option["type"] = _typed(schema)
        if name == "lr":
            option.update(default=None, help=f"{option['help']} Default: the strategy's own (see `python -m "
                                                 "tl_core strategies`).")
        if name == "epochs":
            option.update(default=None, help=f"{option['help']} Default: {DEFAULTS.epochs}, or the length selected "
                                             "for the strategy on this pair (DANN: see `python -m tl_core "
                                             "strategies`).")
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, **option)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m tl_core", description="Transfer Lab engine.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = sub.add_parser("train", help="train one run and record it")
    _add_config_options(train)
    train.add_argument("--set", dest="settings", type=_setting, action="append", default=[],
                       metavar="KEY=VALUE", help="a strategy setting, e.g. --set lr_decay=0.5 (repeatable; `python -m "
                       "tl_core strategies` lists each strategy's settings with their ranges)")
    train.add_argument("--runs-dir", default=None, help="where run records go (default $TL_RUNS_DIR, else runs/)")
    train.add_argument("--json", action="store_true", help="end with the run summary as one JSON line")
    train.add_argument("--executor", default="inline", choices=("inline", *EXECUTORS),
                       help="where the run executes: this process (inline, the default), a worker process, or "
                            "Ray: the cluster at $TL_RAY_ADDRESS, else a local Ray instance started for the command "
                            "(pip install -r requirements-ray.txt)")
    pretrain = sub.add_parser("pretrain", help="train a source network into the cache, or --publish it: --weights "
                              "source (task A's labels, one network per --seed) or ssl:rotation[:target] (no labels)")
    _add_config_options(pretrain, PRETRAIN_OPTIONS)
    pretrain.add_argument("--publish", action="store_true", help="write it, with a JSON record, to "
                          "assets/source_networks/ (shipped: runs whose key matches start from it)")
    select = sub.add_parser("select", help="choose a setting without the target's test split: reverse validation "
                            "(adaptation, no target labels) or the target's validation split (see --help)")
    _add_config_options(select)
    select.add_argument("--set", dest="settings", type=_setting, action="append", default=[], metavar="KEY=VALUE")
    select.add_argument("--grid", nargs="+", required=True, metavar="KEY=V1,V2",
                        help="values to try, e.g. --grid lr=0.01,0.03 domain_weight=0.3,1")
    select.add_argument("--seeds", default="0", help="comma-separated seeds; a candidate's score is their mean")
    select.add_argument("--runs-dir", default=None, help="where run records go (default $TL_RUNS_DIR, else runs/)")
    sub.add_parser("datasets", help="list datasets and whether they work offline")
    sub.add_parser("backbones", help="list the curated backbones with their layer groups")
    sub.add_parser("strategies", help="list the strategies and their settings")
    runs = sub.add_parser("runs", help="list recorded runs")
    runs.add_argument("--runs-dir", default=None)
    return parser


def _config(args: argparse.Namespace) -> RunConfig:
    """The run the options describe; ConfigError for a strategy setting that does not parse."""
    from tl_core.strategies import parse_settings, suggested_epochs, suggested_lr, suggested_settings

    values = {name: getattr(args, name) for name in CONFIG_OPTIONS}
    if values["lr"] is None:
        values["lr"] = suggested_lr(args.strategy)
    if values["epochs"] is None:
        values["epochs"] = suggested_epochs(args.strategy, args.source, args.target)
    settings = {**suggested_settings(args.strategy, args.source, args.target), **dict(args.settings)}
    return RunConfig(**values, settings=parse_settings(args.strategy, settings))


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def _train(args: argparse.Namespace) -> int:
    from tl_core.cli_progress import ProgressPrinter
    from tl_core.runs.runner import execute_run, prepare_run

    config = _config(args)
    if args.executor == "ray":  # before the run is recorded: a cluster that does not answer leaves no record
        _join_ray()
    run = prepare_run(config, args.runs_dir)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    printer = ProgressPrinter()
    if args.executor == "inline":
        summary = execute_run(run, [printer], stop)
    else:
        summary = _train_on(args.executor, run, printer, stop)
    printer.close()
    keys = ("status", "reason", "target_acc", "val_acc", "train_acc", "domain_confusion_acc", "a_distance",
            "epochs_done", "seconds", "images_per_s", "device_name", "run_dir")
    print(_table([(k, _fmt(summary.get(k))) for k in keys if summary.get(k) not in (None, "")]))
    if args.json:
        print(json.dumps(summary, sort_keys=True, default=float))
    if summary["status"] == Status.FINISHED:
        return 0
    if summary["status"] == Status.STOPPED:
        return 130
    print(f"error: {summary['reason']} {summary.get('hint', '')}".rstrip(), file=sys.stderr)
    return 2 if summary.get("error_kind") == "user" else 1


def _join_ray() -> None:
    from tl_core.serving.executors import connect_ray

    if connect_ray():
        import ray

        cpus = int(ray.cluster_resources().get("CPU", 0))
        print(f"ray: no cluster named ($TL_RAY_ADDRESS), so a local Ray instance with {cpus} CPUs was started for "
              "this command; set TL_RAY_ADDRESS=HOST:PORT to train on a cluster", flush=True)


def _train_on(executor: str, run, printer, stop: threading.Event) -> dict:
    """Execute the run on one slot of `executor` (a worker process, a Ray actor) instead of this process."""
    from tl_core.records.store import RunStore
    from tl_core.serving.executors import RunLost, make_slots

    store = RunStore(run.path.parent)
    slot = make_slots(executor, 1, store)[0]
    try:
        slot.start()
        slot.run(run.run_id, printer, stop)
        return run.read_summary()
    except RunLost as lost:
        return store.end(run.run_id, Status.FAILED, lost.reason, lost.hint)
    finally:
        slot.close()


def _pretrain(args: argparse.Namespace) -> int:
    from tl_core.cli_progress import ProgressPrinter
    from tl_core.machine.device import pick_device
    from tl_core.networks.pretrain import checkpoint_path, source_pretrained_state
    from tl_core.networks.publish import publish
    from tl_core.networks.ssl import ROTATION_WEIGHTS, network_key, rotation_pretrained_state
    from tl_core.runs.validation import validate_config
    from tl_core.train.loop import FitContext

    config = validate_config(RunConfig(**{name: getattr(args, name) for name in PRETRAIN_OPTIONS}))
    keyed = network_key(config)
    if keyed is None:
        raise ConfigError(f"pretrain trains --weights source or {' or '.join(ROTATION_WEIGHTS)}, not "
                          f"{config.weights!r}")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    printer = ProgressPrinter()
    ctx = FitContext("pretrain", "pretrain", printer, stop)
    device = pick_device(config.device)
    if args.publish:
        path = publish(config, device, ctx)
    else:
        pretrained = rotation_pretrained_state if config.weights in ROTATION_WEIGHTS else source_pretrained_state
        pretrained(config, device, ctx)
        path = checkpoint_path(keyed)
    printer.close()
    print(path)
    return 0


def _select(args: argparse.Namespace) -> int:
    from tl_core.selection import describe, parse_grid, select, selection_table

    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise UserError(f"--seeds must be comma-separated whole numbers, not {args.seeds!r}") from None
    selection = select(_config(args), parse_grid(args.grid, args.strategy), seeds, args.runs_dir,
                       progress=lambda line: print(line, flush=True))
    print(selection_table(selection))
    print(f"metric: {selection.metric} (mean over seeds {args.seeds}); record: {selection.record}")
    if selection.chosen is None:
        print("error: no candidate finished", file=sys.stderr)
        return 1
    print(f"chosen: {describe(selection.chosen)}")
    return 0


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
    """Each strategy's summary, then each of its settings (`--set KEY=VALUE`) with its default, range and help."""
    from tl_core.strategies import settings_schema, strategy_class, strategy_names, suggested_lr

    for name in strategy_names():
        cls = strategy_class(name)
        print(f"{name:14} {cls.summary}  [lr={suggested_lr(name)}]")
        for (source, target), epochs in cls.selected_epochs.items():
            print(f"{'':14}   {source} → {target}: {epochs} epochs unless --epochs says otherwise (selected "
                  "without target labels)")
        for (source, target), chosen in cls.selected_settings.items():
            values = " ".join(f"{k}={v}" for k, v in chosen.items())
            print(f"{'':14}   {source} → {target}: {values} unless --set says otherwise (selected without target "
                  "labels)")
        defaults = dataclasses.asdict(cls.Settings())
        for key, schema in settings_schema(name).items():
            bounds = f", {schema.range_text()}" if schema.range_text() else ""
            print(f"{'':14}   {key}={defaults[key]}{bounds}: {schema.help}")
    return 0


def _runs(args: argparse.Namespace) -> int:
    from tl_core.machine.paths import runs_dir
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
    if argv[:1] == ["feasibility"]:  # the check writes a report with charts: presentation, one layer up
        print("error: the feasibility check is `python -m tl_view feasibility PATH` (see its --help)", file=sys.stderr)
        return 2
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # bad arguments (status 2) or --help (status 0)
        return int(exit_.code or 0)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "runs":
            return _runs(args)
        if args.command == "pretrain":
            return _pretrain(args)
        if args.command == "select":
            return _select(args)
        return {"datasets": _datasets, "backbones": _backbones, "strategies": _strategies}[args.command]()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
