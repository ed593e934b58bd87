"""The Feasibility page's state: this tab's folder for uploads, the check's settings, and the check it started
(submitted to the chain runner, which queues each stage when the one before has ended). The page only arranges.
The sweep's settings and candidates are read from their modules when a check starts (tests shorten them there)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from tl_core.errors import UserError
from tl_core.feasibility import label_curve, sweep
from tl_core.feasibility.pipeline import Plan, next_stage
from tl_core.feasibility.prepare import prepare_dataset
from tl_core.feasibility.results import results_from_jobs
from tl_core.feasibility.upload_quota import UploadQuota
from tl_core.feasibility.uploads import new_session_dir
from tl_core.runs import identity
from tl_core.serving import promises
from tl_ui import state
from tl_view import feasibility_views as fv
from tl_view.views import promise_text

SETTING_KEYS = {"folds": "fz-folds", "img_size": "fz-img-size", "curve": "fz-curve-on"}  # the settings' widgets


def session_dir() -> Path:
    """This tab's own folder for uploads and prepared data (created on first use), among this owner's others."""
    if "fz_session" not in st.session_state:
        st.session_state.fz_session = str(new_session_dir(owner=state.owner()))
    return Path(st.session_state.fz_session)


def upload_quota() -> UploadQuota | None:
    """This owner's disk quota for uploads (the teacher has none); the data of a check in flight is kept."""
    if state.actor().teacher:
        return None
    running = state.runner().latest(state.owner(), identity.feasibility_prefix())
    keep = running.context.get("folders", ()) if running is not None and not running.done else ()
    return UploadQuota.for_session(session_dir(), keep=keep)


def check_settings() -> dict:
    """The check's settings as the user left them, in plain session state (never cleaned up by Streamlit)."""
    return st.session_state.setdefault("fz_settings", {"folds": 3, "img_size": 32, "curve": True})


def keep_setting(name: str) -> None:
    """A settings widget's callback: write its value back to the kept settings."""
    check_settings()[name] = st.session_state[SETTING_KEYS[name]]


def current_check() -> str | None:
    """The check this tab shows: the one it started, else (a reloaded tab) this owner's latest."""
    if "fz_check" not in st.session_state:
        found = state.runner().latest(state.owner(), identity.feasibility_prefix())
        if found is not None:
            st.session_state.fz_check = found.key
    return st.session_state.get("fz_check")


def start_check(target: fv.DataIn, source: fv.DataIn | None) -> None:
    """The button's callback (it runs before the script, so the page that follows already shows the check):
    write the fold views, then queue the first stage; the chain runner queues the others."""
    manager, runner = state.manager(), state.runner()
    folds, img_size, curve = (check_settings()[k] for k in ("folds", "img_size", "curve"))
    check_id, key = identity.new_feasibility_check()
    settings = sweep.SweepSettings(img_size=img_size, folds=folds, check_id=check_id)
    try:
        prepared = prepare_dataset(target.report, session_dir(), folds=folds, seed=settings.seed)
        folders = [str(prepared.folder), target.report.root]  # what the check reads: kept while it runs
        candidates = None
        if source is not None and source.ok:
            source_prepared = prepare_dataset(source.report, session_dir() / "source-prepared", folds=1)
            folders += [str(source_prepared.folder), source.report.root]
            candidates = tuple(sweep.default_candidates(img_size, source=source_prepared.views[0]))
        plan = Plan(settings, candidates, label_curve.DEFAULT_BUDGETS if curve else None, curve_folds=1)

        def plan_next(run_ids: list[str]):
            results, _ = results_from_jobs(manager, run_ids)
            return next_stage(prepared, plan, results)

        runner.start(key, state.actor(), plan_next, only_one="feasibility check",
                     context={"validation": target.report, "label": target.label, "folds": folds, "plan": plan,
                              "img_size": img_size, "curve": curve, "folders": folders})
        st.session_state.fz_check = key
    except (UserError, OSError) as err:
        st.session_state.fz_error = f"The check could not start: {err}"


def check_plan(source: fv.DataIn | None, chosen: dict) -> Plan:
    """The plan "Run the check" queues with these settings (its candidates as far as they are known now)."""
    settings = sweep.SweepSettings(img_size=chosen["img_size"], folds=chosen["folds"])
    candidates = sweep.default_candidates(settings.img_size)
    if source is not None and source.ok:  # its own source network: pretrained like the built-in one
        candidates[0] = sweep.Candidate("small_cnn", "source", f"folder:{source.folder}")
    return Plan(settings, tuple(candidates), label_curve.DEFAULT_BUDGETS if chosen["curve"] else None, curve_folds=1)


def folder_facts(report) -> tuple[int, int, int]:
    """(images, images in the smallest class, classes): what the check's estimate needs of a folder."""
    return report.num_images, report.images_per_class, len(report.classes)


def estimate_text(target: fv.DataIn, source: fv.DataIn | None, chosen: dict) -> str | None:
    """How long the check will take: every stage of it at this server's measured pace, laid out on the server's
    slots behind other users' runs (`tl_core.serving.promises`); None while the pace is still being timed."""
    promise = promises.check_promise(state.manager(), state.owner(), check_plan(source, chosen),
                                     *folder_facts(target.report))
    return None if promise is None else f":material/schedule: {promise.runs} runs, " + promise_text(promise) + "."


def remaining_text(chain) -> str:
    """What is left of a running check: its runs in flight, the stages still to come, the other users' runs
    ahead — refreshed with the progress bar."""
    validation, plan = chain.context.get("validation"), chain.context.get("plan")
    if validation is None or plan is None:
        return ""
    promise = promises.check_promise(state.manager(), chain.owner, plan, *folder_facts(validation),
                                     mine=chain.ids, done=[stage for stage, _ in chain.stages])
    if promise is None or not promise.runs:
        return ""
    return ":material/schedule: About " + promise_text(promise).removeprefix("about ").replace(":", " left:", 1) + "."
