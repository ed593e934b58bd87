"""`python -m tl_view feasibility PATH`: the whole check from a shell, one line per finished run, the report
written to --out (feasibility.md and a self-contained feasibility.html).

The engine (tl_core.feasibility) runs the check; writing its report is presentation, so the command lives here
and the engine never imports upwards. PATH is a .zip (extracted safely into a session folder) or a folder with
one sub-folder per class. Bad input prints one line starting with "error:" and exits 2, like `python -m tl_core`.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import threading

from tl_core.errors import ConfigError, UserError
from tl_core.feasibility.pipeline import run_feasibility
from tl_core.feasibility.sweep import SweepSettings, default_candidates
from tl_core.feasibility.uploads import new_session_dir
from tl_core.runs.config import config_schema
from tl_view.feasibility_report import write_report


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tl_view feasibility",
                                description="Will transfer learning work on my images, how, and with how many labels?")
    p.add_argument("path", help="a .zip of class folders, or a folder with one sub-folder per class")
    p.add_argument("--out", default="feasibility-report", help="folder for feasibility.md and feasibility.html")
    p.add_argument("--session-dir", default=None, help="where uploads and fold views go (default: a new one under "
                                                       "$TL_DATA_DIR/sessions)")
    p.add_argument("--runs-dir", default=None)
    p.add_argument("--img-size", type=int, default=32)
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--probe-epochs", type=int, default=8)
    p.add_argument("--finetune-epochs", type=int, default=6)
    p.add_argument("--source", default="synth-digits", help="built-in dataset (or folder:PATH) to pretrain on for "
                                                            "'source' weights")
    p.add_argument("--backbones", default="resnet18,mobilenetv3_small_100",
                   help="ImageNet backbones to add when their weights are cached (comma-separated)")
    p.add_argument("--no-curve", action="store_true", help="skip the label-budget curve")
    p.add_argument("--curve-folds", type=int, default=None)
    p.add_argument("--device", default="auto")
    return p


def _out_of_range(args: argparse.Namespace) -> str:
    """What is wrong with the numbers given, before anything is read or trained ("" when nothing is)."""
    counts = {"--folds": args.folds, "--probe-epochs": args.probe_epochs, "--finetune-epochs": args.finetune_epochs,
              "--curve-folds": args.curve_folds}
    for option, value in counts.items():
        if value is not None and value < 1:
            return f"{option} must be 1 or more, not {value}."
    try:
        config_schema()["img_size"].check(args.img_size)
    except ConfigError as err:
        return f"--img-size: {err}"
    return ""


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    problem = _out_of_range(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    settings = SweepSettings(img_size=args.img_size, folds=args.folds, probe_epochs=args.probe_epochs,
                             finetune_epochs=args.finetune_epochs, device=args.device)

    def progress(stage: str, result) -> None:
        s = result.summary
        acc = "" if s.get("target_acc") is None else f" target_acc {s['target_acc']:.3f}"
        print(f"[{stage}] {result.config.name}: {s.get('status')}{acc} ({result.seconds:.1f} s)", flush=True)

    stop = threading.Event()
    session = args.session_dir or new_session_dir()
    try:
        candidates = default_candidates(args.img_size, args.source, [b for b in args.backbones.split(",") if b])
        result = run_feasibility(args.path, session, settings, candidates,
                                 budgets=None if args.no_curve else (1, 2, 5, 10, 20, None),
                                 curve_folds=args.curve_folds, runs_dir=args.runs_dir, on_result=progress, stop=stop)
    except UserError as err:
        if not args.session_dir:  # a session folder made for this command leaves no trace of a refusal
            shutil.rmtree(session, ignore_errors=True)
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        stop.set()
        return 130
    for message in result.validation.messages():
        print(f"note: {message}")
    if result.recommendation is not None:
        print(result.recommendation.text)
    md, page = write_report(result, args.out)
    print(f"report: {md} and {page}")
    print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
