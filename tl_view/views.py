"""Words for a run's state, drawn the same way whether the job manager holds it (live) or only its record does.

No Streamlit here. Runs are `tl_core.records.run_view.RunView`s from `manager.view(run_id)`.
"""
from __future__ import annotations

from tl_core.records.run_view import RunView
from tl_core.runs import identity
from tl_core.runs.status import Status
from tl_core.serving.owners import describe_owner


def is_active(view: RunView | None) -> bool:
    return view is not None and view.active


def status_line(view: RunView) -> tuple[str, float]:
    """(one line saying where the run is, fraction done in [0, 1]) for a progress bar."""
    from tl_view import fmt

    status = view.status
    epochs = view.epochs or 1
    if status is Status.QUEUED:
        where = f"position {view.queue_position} in the queue" if view.queue_position else "in the queue"
        return f"Waiting — {where}; it starts when a slot is free.", 0.0
    if status is Status.RUNNING:
        if view.stage == "pretrain":
            done = view.step / view.total_steps if view.total_steps else 0.0
            return f"Pretraining on the source (task A, once; cached for later runs) — {done:.0%}", min(1.0, done)
        if not view.total_steps:
            return "Preparing data and model…", 0.0
        if not view.history and view.step >= view.total_steps:  # still the pretraining's counters
            return "Starting to train on the target…", 0.0
        done = view.step / view.total_steps
        eta = view.eta_seconds
        # Before the first epoch ends the job manager's estimate also counts the pretraining time: not shown.
        eta_text = f" · about {fmt.seconds(eta)} left" if eta is not None and view.history else ""
        return f"Training — epoch {max(1, view.epoch)} of {epochs}{eta_text}", min(1.0, done)
    summary = view.summary
    if status is Status.FINISHED:
        return f"Finished in {fmt.seconds(summary.get('seconds'))} — target accuracy {fmt.pct(view.target_acc)}", 1.0
    reason = summary.get("reason") or ""
    hint = summary.get("hint") or ""
    done = len(view.history) / epochs
    return f"{status.label} — {reason} {hint}".strip(), min(1.0, done)


def rough(seconds: float) -> str:
    """An estimate in words no more precise than it is: '40 s', '3 min', '1 h 10 min'."""
    if seconds < 60:
        return f"{max(10, round(seconds / 10) * 10):.0f} s"
    if seconds < 3600:
        return f"{round(seconds / 60):.0f} min"
    return f"{int(seconds // 3600)} h {round(seconds % 3600 / 60):02.0f} min"


def promise_text(promise) -> str:
    """'about 3 min: 2 min for its 15 runs at the pace measured on this server (1 min of it pretraining the network
    it starts from, once; cached afterwards) + 1 min waiting for 2 other runs ahead' — a
    `tl_core.serving.promises.Promise` in words; its own runs are its work, never "ahead"."""
    basis = (f"at the pace of {promise.pace_runs} finished run{'s' if promise.pace_runs != 1 else ''} on this "
             f"server" if promise.pace_runs else "at the pace measured on this server")
    runs = f"{promise.runs} run{'s' if promise.runs != 1 else ''}"
    parts = [f"{rough(promise.work_s)} for its {runs} {basis}"
             + (f" ({rough(promise.pretrain_s)} of it pretraining the network it starts from, once; cached afterwards)"
                if promise.pretrain_s else "")]
    if promise.runs_ahead:
        parts.append(f"{rough(promise.wait_s)} waiting for {promise.runs_ahead} other "
                     f"run{'s' if promise.runs_ahead != 1 else ''} ahead")
    return f"about {rough(promise.total_s)}: " + " + ".join(parts)


def run_name(row: dict) -> str:
    """A run's name as people read it: a lesson's or a feasibility check's runs say whose part they are, so a
    "teacher" arm never reads as a person."""
    name = row.get("name") or f"{row.get('strategy')} {row.get('backbone') or ''}".strip()
    experiment = identity.parse(row.get("experiment") or "")
    if experiment is not None and experiment.kind is identity.Kind.LESSON:
        return f"lesson {experiment.key} · {name}"
    if experiment is not None and experiment.kind is identity.Kind.FEASIBILITY:
        return f"feasibility check · {name}"
    return name


def runs_table_rows(rows, who: str) -> list[dict]:
    """The Runs page's table: what tells runs apart first (when, full name, status, result, time, whose, id),
    then the settings."""
    from tl_view import fmt

    return [{
        "started": fmt.when(r["created"]),
        "name": run_name(r),
        "status": r["status"],
        "target acc": r["target_acc"],
        "time": fmt.seconds(r["seconds"]),
        "by": describe_owner(r.get("owner") or "", who),
        "run id": r["run_id"],
        "strategy": r["strategy"],
        "source → target": f"{r['source']} → {r['target']}",
        "backbone": r["backbone"],
        "weights": r["weights"],
        "freeze": r["freeze"],
        "labels": fmt.labels(r["labels_per_class"]),
        "epochs": r["epochs"],
    } for r in rows]


# What a user chooses on the Experiment form (a run's name, role and snapshots are not results' settings).
CHOSEN = ("source", "target", "backbone", "weights", "strategy", "freeze", "labels_per_class", "epochs", "batch_size",
          "lr", "weight_decay", "img_size", "seed", "settings", "pretrain_epochs")


def settings_note(shown, form) -> str:
    """'' when the results shown belong to the form's settings; else one line saying whose settings they are and
    what differs ('Results of the run shown — fine-tune small_cnn · … The form differs in: strategy, …')."""
    from tl_core.runs.config import config_schema
    from tl_core.strategies import strategy_class
    from tl_view import fmt

    try:
        form = strategy_class(form.strategy)().effective_config(form)  # what the form would really run
    except (KeyError, ValueError, TypeError):
        pass
    changed = [config_schema()[k].label for k in CHOSEN if getattr(shown, k) != getattr(form, k)]
    if not changed:
        return ""
    return (f"Results of the run shown: {shown.strategy} {shown.backbone} · {shown.source} → {shown.target} · "
            f"{fmt.labels(shown.labels_per_class)}. The form's settings differ in {', '.join(changed)}: press "
            "Train to run them.")


def overfitting_note(main_history, base_history, main_label: str, base_label: str, trained_on: str = "target") -> str:
    """When the run without transfer fits its training images better yet scores lower on the target's test images
    at the last common epoch: one sentence naming it — it memorises its few labels (overfitting). '' otherwise.
    Runs trained on the source's labels (`trained_on` "source": DANN and its twin) learn from every source image,
    so there the gap is the domain shift, and the sentence says that instead."""
    from tl_view import fmt

    common = min(len(main_history), len(base_history))
    if not common:
        return ""
    mine, theirs = main_history[common - 1], base_history[common - 1]
    keys = ("train_acc", "target_acc")
    if any(row.get(k) is None for row in (mine, theirs) for k in keys):
        return ""
    if not (theirs["train_acc"] > mine["train_acc"] and theirs["target_acc"] < mine["target_acc"]):
        return ""
    figures = (f"training images better ({fmt.pct(theirs['train_acc'])} against {fmt.pct(mine['train_acc'])} "
               f"{main_label}) yet does worse on the target's test images ({fmt.pct(theirs['target_acc'])} against "
               f"{fmt.pct(mine['target_acc'])})")
    if trained_on == "source":
        return (f"Domain shift: {base_label} fits the source's {figures}: what tells the source's images apart "
                "carries over less to the target.")
    return (f"Overfitting: {base_label} fits its {figures}: it memorises its few labelled images instead of learning "
            "what generalises.")


def task_a_rows(history, summary) -> list[dict]:
    """A run's task-A accuracy per epoch (`measure_forgetting`), with epoch 0, before this task, in front; [] for a
    run that does not measure it."""
    rows = [{"epoch": row["epoch"], "source_acc": row["source_acc"]} for row in history
            if row.get("source_acc") is not None]
    start = summary.get("source_acc_start")
    return rows if start is None else [{"epoch": 0, "source_acc": start}, *rows]


def forgetting_note(summary, label: str) -> str:
    """What the end of a forgetting run adds to its curve: task A measured again with A's own BatchNorm statistics
    (how much of the fall was only B's statistics); '' until the run has measured it."""
    from tl_view import fmt

    start, last, own = (summary.get(k) for k in ("source_acc_start", "source_acc", "source_acc_own_bn"))
    if start is None or own is None:
        return ""
    after = f", {fmt.pct(last)} after this task" if last is not None else ""
    return (f"Task A, {label}: {fmt.pct(start)} before{after}, {fmt.pct(own)} with A's own BatchNorm statistics "
            "re-estimated: what is still lost then is lost in the weights (lesson 10).")
