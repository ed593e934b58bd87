"""Issue 22: private data stays private — runs on a folder or an upload, their images, class names and configs are
their owner's and the teacher's; downloads carry no server paths; owners survive a rebuilt index; nothing deletes
another user's run; the Ray job ships no secrets."""
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tl_core.owners import Actor, NotOwner, owner_id
from tl_core.records.store import RunStore
from tl_core.runner import prepare_run

ALICE, BOB = owner_id("alice-secret"), owner_id("bob-secret")
REPO = Path(__file__).resolve().parents[1]


def _forget_index_row(store: RunStore, run_id: str) -> None:
    with sqlite3.connect(store.db_path) as db:
        db.execute("DELETE FROM runs WHERE run_id=?", (run_id,))


def test_owners_survive_a_rebuilt_index(tiny, runs_dir):
    run = prepare_run(tiny, runs_dir, owner=ALICE)
    store = RunStore(runs_dir)
    store.db_path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{store.db_path}{suffix}").unlink(missing_ok=True)
    rebuilt = RunStore(runs_dir)
    rebuilt.reindex()
    assert rebuilt.get(run.run_id)["owner"] == ALICE


def test_an_unindexed_run_is_deleted_only_by_its_owner(tiny, runs_dir):
    run = prepare_run(tiny, runs_dir, owner=ALICE)
    store = RunStore(runs_dir)
    _forget_index_row(store, run.run_id)
    with pytest.raises(NotOwner, match="another user's"):
        store.delete(run.run_id, by=BOB)
    assert run.path.is_dir()
    store.delete(run.run_id, by=ALICE)
    assert not run.path.exists()


def test_delete_refuses_a_run_id_that_is_a_path(tiny, runs_dir, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    store = RunStore(runs_dir)
    with pytest.raises(NotOwner):
        store.delete("../victim", by=Actor(BOB))
    assert victim.is_dir()


def test_the_ray_job_ships_no_streamlit_secrets_and_git_ignores_them():
    pytest.importorskip("ray")
    from ray._private.runtime_env.packaging import _get_excludes  # how Ray itself reads `excludes`

    from tl_core.executors.ray_cluster import PROJECT_ROOT, UPLOAD_EXCLUDES

    excluded = _get_excludes(PROJECT_ROOT, UPLOAD_EXCLUDES)
    assert excluded(PROJECT_ROOT / ".streamlit") and excluded(PROJECT_ROOT / ".streamlit" / "secrets.toml")
    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", ".streamlit/secrets.toml"], cwd=REPO)
    assert ignored.returncode == 0, ".streamlit/secrets.toml must be in .gitignore"
