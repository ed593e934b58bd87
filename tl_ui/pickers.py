"""Which runs a page offers, and which run belongs next to which (no Streamlit)."""
from __future__ import annotations

from tl_core.records.run_view import snapshots_on_disk
from tl_core.runs import pairs
from tl_core.runs.status import Status
from tl_core.serving.privacy import may_see
from tl_ui import state


def all_runs(manager, limit: int = 500) -> list[dict]:
    """The recorded runs this session may see: a run on someone's own folder or upload is theirs and the
    teacher's only (`tl_core.serving.privacy`)."""
    actor = state.actor()
    return [r for r in manager.store.list(limit=limit) if may_see(actor, r)]


def finished_runs(manager, limit: int = 200) -> list[dict]:
    """The finished runs this session may see (a teacher to distil from, a run to compare with)."""
    actor = state.actor()
    return [r for r in manager.store.list(status=Status.FINISHED, limit=limit) if may_see(actor, r)]


def mine_first(rows: list[dict], who: str) -> list[dict]:
    """This user's runs first (each group newest first): in a classroom everyone sees their own on top."""
    return [r for r in rows if r.get("owner") == who] + [r for r in rows if r.get("owner") != who]


def map_runs(manager, also=()) -> list[dict]:
    """Runs that have at least one feature snapshot on disk, newest first — plus the runs in `also` (e.g. the
    ones this tab watches, which may still wait for their first snapshot)."""
    return [r for r in all_runs(manager)
            if r["run_id"] in also or snapshots_on_disk(manager.store.run_dir(r["run_id"]).snapshots_dir)]


def comparison_for(manager, run_id: str, rows: list[dict]) -> str | None:
    """`pairs.comparison_of` the run (looked up in the store when `rows` leave it out)."""
    row = next((r for r in rows if r["run_id"] == run_id), None) or manager.store.get(run_id)
    return None if row is None else pairs.comparison_of(row, rows)
