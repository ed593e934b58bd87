"""Issue 22: private data stays private — runs on a folder or an upload, their images, class names and configs are
their owner's and the teacher's; downloads carry no server paths; owners survive a rebuilt index; nothing deletes
another user's run; the Ray job ships no secrets."""
import importlib.util
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tl_core.records.store import RunStore
from tl_core.runs.runner import prepare_run
from tl_core.serving.owners import Actor, NotOwner, owner_id

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


@pytest.mark.slow
def test_the_ray_job_ships_no_streamlit_secrets_and_git_ignores_them():
    """Asked of Ray in a child process: Ray reads its token settings when first imported, so importing it here
    would leave the Ray executor's tests (later in the session) unable to join their token-guarded cluster."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed")
    probe = ("from ray._private.runtime_env.packaging import _get_excludes\n"  # how Ray itself reads `excludes`
             "from tl_core.serving.executors.ray_cluster import PROJECT_ROOT, UPLOAD_EXCLUDES\n"
             "excluded = _get_excludes(PROJECT_ROOT, UPLOAD_EXCLUDES)\n"
             "print(excluded(PROJECT_ROOT / '.streamlit'), excluded(PROJECT_ROOT / '.streamlit' / 'secrets.toml'))")
    answer = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["True", "True"]
    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", ".streamlit/secrets.toml"], cwd=REPO)
    assert ignored.returncode == 0, ".streamlit/secrets.toml must be in .gitignore"


# ---------------------------------------------------------------- private data


def _record(store: RunStore, config, owner: str, classes=("secret-cats", "secret-dogs"), created=1.0) -> str:
    from tl_core.records.run_dir import RunDir

    run = RunDir.create(store.runs_dir, config)
    summary = {"status": "finished", "created": created, "target_acc": 0.5, "run_dir": str(run.path),
               "host": "lab-server", "pid": 4242,
               "reason": f"Read {config.target[len('folder:'):] or config.target} without trouble."}
    run.write_summary(summary)
    run.write_owner(owner)
    n = len(classes)
    run.write_json("evaluation.json", {"classes": list(classes), "per_class_acc": [0.5] * n,
                                       "per_class_count": [2] * n, "confusion": [[1] * n for _ in range(n)],
                                       "misclassified": [], "test_correct": [1, 0]})
    store.upsert(run.run_id, config, summary, owner=owner)
    return run.run_id


@pytest.fixture
def upload_path(tmp_path, monkeypatch):
    """An uploaded dataset's fold, in a session folder outside the data root, as the feasibility check names it."""
    monkeypatch.setenv("TL_DATA_ROOT", str(tmp_path / "data-root"))
    monkeypatch.delenv("TL_UPLOAD_ROOT", raising=False)
    (tmp_path / "data-root" / "flowers").mkdir(parents=True)
    fold = tmp_path / "data" / "sessions" / f"owner-{ALICE}" / "0123abcd" / "prepared-1f2e" / "fold-0"
    fold.mkdir(parents=True)
    return fold


def test_runs_on_a_folder_are_seen_by_their_owner_and_the_teacher_only(tiny, runs_dir, upload_path):
    from tl_core.serving.privacy import may_see

    store = RunStore(runs_dir)
    private = _record(store, tiny.replace(target=f"folder:{upload_path}"), ALICE)
    public = _record(store, tiny, ALICE, classes=("0", "1"))
    rows = {r["run_id"]: r for r in store.list()}
    assert may_see(ALICE, rows[private]) and may_see(Actor(BOB, teacher=True), rows[private])
    assert not may_see(BOB, rows[private]) and not may_see("", rows[private])
    assert may_see(BOB, rows[public])


def test_downloads_carry_no_server_paths(tiny, runs_dir, tmp_path, upload_path):
    from tl_core.serving.privacy import public_config, public_summary

    store = RunStore(runs_dir)
    on_upload = store.get(_record(store, tiny.replace(source=f"folder:{upload_path}",
                                                      target=f"folder:{tmp_path / 'data-root' / 'flowers'}"), ALICE))
    config, summary = public_config(on_upload["config"]), public_summary(on_upload["summary"])
    assert config["target"] == "folder:flowers" and config["source"].startswith("folder:<")
    for text in (str(config), str(summary)):
        assert str(tmp_path) not in text and "/work" not in text and "lab-server" not in text, text
    assert summary["target_acc"] == 0.5 and "without trouble" in summary["reason"]


def test_feasibility_runs_on_a_users_source_name_no_path():
    from tl_core.feasibility.sweep import Candidate, plan_probe_stage

    source = "folder:/srv/lab/data/sessions/owner-ab/12/source-prepared/prepared-9/fold-0"
    candidate = Candidate("small_cnn", "source", source)
    assert "/srv" not in candidate.label
    assert all("/srv" not in c.name for c in plan_probe_stage(["folder:/srv/lab/x/fold-0"], [candidate]))


def _open_runs_page(monkeypatch, who: str, teacher: bool = False):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tl_ui import state

    monkeypatch.setenv("TL_WARM_UMAP", "0")
    monkeypatch.setenv("TL_EXECUTOR", "threads")
    monkeypatch.setattr(state, "owner", lambda: who)
    monkeypatch.setattr(state, "is_teacher", lambda: teacher)
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "pages" / "runs.py"), default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _page_text(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "success") for e in at.get(kind)
             if isinstance(getattr(e, "value", None), str)]
    parts += [el.proto.spec for el in at.get("plotly_chart")]
    parts += [str(df.value.to_dict()) for df in at.dataframe]
    return "\n".join(parts)


def test_the_runs_page_shows_a_private_run_to_its_owner_and_the_teacher_only(tiny, runs_dir, upload_path,
                                                                             monkeypatch):
    store = RunStore(runs_dir)
    public = _record(store, tiny, ALICE, classes=("zero", "one"), created=1.0)
    private = _record(store, tiny.replace(target=f"folder:{upload_path}"), ALICE, created=2.0)
    try:
        bob = _page_text(_open_runs_page(monkeypatch, BOB))
        assert private not in bob and "secret-cats" not in bob and str(upload_path) not in bob
        assert public in bob and "zero" in bob
        alice = _page_text(_open_runs_page(monkeypatch, ALICE))
        assert private in alice and "secret-cats" in alice
        teacher = _page_text(_open_runs_page(monkeypatch, BOB, teacher=True))
        assert private in teacher
    finally:
        import streamlit as st

        st.cache_resource.clear()
