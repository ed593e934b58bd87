"""Issue 14: hardening for a shared server — damaged files heal, dead runs end, writes fail softly, input is
hostile."""
import errno
import json
import os
import re
import socket

import pytest

from tl_core.records.run_dir import RunDir
from tl_core.records.store import RunStore, process_start_time
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status


def _record(store: RunStore, config: RunConfig, **summary) -> str:
    run = RunDir.create(store.runs_dir, config)
    summary = {"status": "finished", "created": 1.0, **summary}
    run.write_summary(summary)
    store.upsert(run.run_id, config, summary)
    return run.run_id


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_a_damaged_index_is_moved_aside_and_rebuilt(tmp_path, damage):
    config = RunConfig(source="digits", target="digits-m")
    store = RunStore(tmp_path)
    ids = {_record(store, config) for _ in range(3)}
    db = tmp_path / "index.sqlite"
    if damage == "random":
        db.write_bytes(os.urandom(8192))
    else:
        db.write_bytes(db.read_bytes()[:1500])
    assert {r["run_id"] for r in RunStore(tmp_path).list()} == ids
    assert list(tmp_path.glob("index.sqlite.corrupt-*"))


def test_a_damaged_index_heals_under_an_open_store(tmp_path):
    config = RunConfig(source="digits", target="digits-m")
    store = RunStore(tmp_path)
    run_id = _record(store, config)
    (tmp_path / "index.sqlite").write_bytes(os.urandom(8192))
    assert store.get(run_id)["run_id"] == run_id


@pytest.mark.parametrize("config_text, summary_text", [
    ("[]", None),
    ("{not json", None),
    (None, "[1, 2]"),
    (json.dumps(RunConfig(labels_per_class=10**20).to_dict()), None),
])
def test_reindex_skips_and_reports_an_unreadable_run_directory(tmp_path, config_text, summary_text):
    store = RunStore(tmp_path)
    good = _record(store, RunConfig())
    bad = RunDir.create(tmp_path, RunConfig())
    if config_text is not None:
        (bad.path / "config.json").write_text(config_text)
    if summary_text is not None:
        (bad.path / "summary.json").write_text(summary_text)
    (tmp_path / "index.sqlite").unlink()
    result = RunStore(tmp_path).reindex()
    assert result.added == 1 and [p for p, _ in result.skipped] == [str(bad.path)]
    assert [r["run_id"] for r in RunStore(tmp_path).list()] == [good]


def test_process_start_time_tells_a_reused_pid():
    if not os.path.exists("/proc/self/stat"):
        pytest.skip("no /proc")
    assert process_start_time(os.getpid()) == process_start_time(os.getpid()) is not None
    assert process_start_time(1) != process_start_time(os.getpid())


def test_a_killed_run_is_healed_and_other_hosts_are_left_alone(tmp_path):
    import subprocess

    store = RunStore(tmp_path)
    config = RunConfig()
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    killed = _record(store, config, status="running", pid=dead.pid, host=host, pid_started=1)
    reused = _record(store, config, status="running", pid=os.getpid(), host=host,
                     pid_started=(process_start_time(os.getpid()) or 0) + 1)
    alive = _record(store, config, status="running", pid=os.getpid(), host=host,
                    pid_started=process_start_time(os.getpid()))
    elsewhere = _record(store, config, status="running", pid=dead.pid, host=host + "-other", pid_started=1)
    rows = {r["run_id"]: r for r in store.list()}
    assert rows[killed]["status"] == rows[reused]["status"] == Status.INTERRUPTED
    assert "process ended" in rows[killed]["summary"]["reason"]
    assert json.loads((tmp_path / killed / "summary.json").read_text())["status"] == "interrupted"
    assert rows[alive]["status"] == rows[elsewhere]["status"] == Status.RUNNING


def test_healing_checks_each_process_once_however_many_runs_it_holds(tmp_path, monkeypatch):
    """A class's runs live in one or two processes; every tab's list healed them, reading /proc once per run."""
    from tl_core.records import store as store_module

    store = RunStore(tmp_path)
    host, pid = socket.gethostname(), os.getpid()
    ids = [_record(store, RunConfig(seed=i), status="queued", pid=pid, host=host,
                   pid_started=process_start_time(pid)) for i in range(12)]
    reads = []
    real = store_module.process_start_time
    monkeypatch.setattr(store_module, "process_start_time", lambda p: reads.append(p) or real(p))
    assert store.heal_stale() == [] and reads == [pid]
    assert {r["run_id"] for r in store.list(status=Status.QUEUED)} == set(ids)


def test_a_run_records_its_host_and_process_start(tiny, runs_dir):
    from tl_core.runs.runner import prepare_run

    run = prepare_run(tiny, runs_dir)
    summary = run.read_summary()
    assert summary["host"] == socket.gethostname() and summary["pid"] == os.getpid()
    assert summary["pid_started"] == process_start_time(os.getpid())


@pytest.mark.slow
@pytest.mark.parametrize("failing", ["summary", "weights", "index"])
def test_a_full_disk_at_the_end_of_a_run_is_recorded_not_raised(tiny, runs_dir, monkeypatch, failing):
    import sqlite3

    from tl_core.records import run_dir as run_dir_module
    from tl_core.runs import runner

    run = runner.prepare_run(tiny.replace(epochs=1, snapshot_size=0), runs_dir)
    real_fit = runner.fit

    def fit_then_fill_the_disk(*args, **kwargs):
        history = real_fit(*args, **kwargs)
        if failing == "summary":
            def full(path, data):
                path.with_name(f".{path.name}.{os.getpid()}.tmp").write_bytes(data[:10])
                raise OSError(errno.ENOSPC, "No space left on device")
            monkeypatch.setattr(run_dir_module, "write_atomic", full)
        elif failing == "weights":
            def full(state, name):
                open(name, "wb").write(b"half")
                raise OSError(errno.ENOSPC, "No space left on device")
            monkeypatch.setattr(run_dir_module, "save_file", full)
        else:
            def full(*a, **k):
                raise sqlite3.OperationalError("database or disk is full")
            monkeypatch.setattr(RunStore, "upsert", full)
        return history

    monkeypatch.setattr(runner, "fit", fit_then_fill_the_disk)
    summary = runner.execute_run(run)
    assert summary["status"] == "failed"
    assert "Could not write the run" in summary["reason"] and str(runs_dir) in summary["reason"]
    assert not list(run.path.glob(".*tmp"))
    monkeypatch.undo()
    recorded = RunStore(runs_dir).get(run.run_id) if failing != "index" else run.read_summary()
    recorded_status = recorded["status"]
    assert recorded_status == "failed"


HOSTILE = "cats\n<details><img src=x onerror=alert(1)>"


def _hostile_validation(tmp_path):
    from tl_core.feasibility.validate import SkippedFile, ValidationReport

    return ValidationReport(str(tmp_path), [HOSTILE, "dogs|`x`"], {HOSTILE: 5, "dogs|`x`": 5}, {HOSTILE + "2": "why"},
                            [SkippedFile(f"{HOSTILE}/<script>alert(2)</script>.png", "corrupt", "<b>bad</b>")],
                            [], {}, {}, {}, [])


def test_the_html_report_escapes_hostile_class_and_file_names(tmp_path):
    from tl_view.feasibility_report import render_html

    page = re.sub(r"<script.*?</script>", "", render_html(_hostile_validation(tmp_path)), flags=re.S)  # plotly's
    assert "<img" not in page and not re.findall(r"<[^>]*onerror=", page)  # no tag carries the handler
    assert "<script>alert" not in page and "<b>bad" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("<details>") == 1  # the report's own, not the one in the class name


def test_the_markdown_report_escapes_table_cells(tmp_path):
    from tl_view.feasibility_report import render_markdown

    text = render_markdown(_hostile_validation(tmp_path))
    assert "<img" not in text and "<script>" not in text
    assert "| cats &lt;details&gt;&lt;img src=x onerror=alert(1)&gt; | 5 |" in text
    assert "| dogs\\|\\`x\\` | 5 |" in text


def test_a_class_folder_with_a_control_character_is_refused_by_name(tmp_path):
    from tl_core.feasibility.demo_data import write_shapes_folder
    from tl_core.feasibility.errors import UnusableDatasetError
    from tl_core.feasibility.validate import validate_folder

    folder = write_shapes_folder(tmp_path / "shapes", num_classes=2, per_class=4)
    first = sorted(p for p in folder.iterdir())[0]
    first.rename(folder / "bad\nname")
    with pytest.raises(UnusableDatasetError, match=r"'bad\\nname'.*rename"):
        validate_folder(folder)


def _png(path, size=(8, 8)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size).save(path)


def test_folder_datasets_read_images_like_the_validator(tmp_path):
    from tl_core.data import scan_image_folder

    root = tmp_path / "data"
    for c in ("a", "b"):
        for i in range(3):
            _png(root / c / f"{i}.png")
    outside = tmp_path / "secret"
    _png(outside / "x.png")
    (root / "a" / "link.png").symlink_to(outside / "x.png")
    (root / "b" / "escape").symlink_to(outside, target_is_directory=True)
    (root / "linked-class").symlink_to(outside, target_is_directory=True)
    (root / "a" / "doc.eps").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n")
    (root / "a" / "renamed.png").write_bytes((root / "a" / "doc.eps").read_bytes())
    _png(root / "b" / "huge.png", (7000, 7000))  # 49 MP, a few KB
    classes, items, skipped = scan_image_folder(root)
    assert classes == ["a", "b"] and len(items) == 6
    assert all(outside not in f.parents for f, _ in items)
    why = {p.name: r for p, r in skipped}
    assert "link" in why["link.png"] and "link" in why["linked-class"] and "escape" not in why
    assert "not read" in why["doc.eps"] and "not an image" in why["renamed.png"]
    assert "MP limit" in why["huge.png"]


def test_folder_scans_stop_and_cap_the_file_count(tmp_path):
    from tl_core.data import scan_image_folder
    from tl_core.data.image_files import ScanStopped
    from tl_core.errors import DatasetError

    root = tmp_path / "data"
    for c in ("a", "b"):
        for i in range(3):
            _png(root / c / f"{i}.png")
    with pytest.raises(ScanStopped):
        scan_image_folder(root, should_stop=lambda: True)
    with pytest.raises(DatasetError, match="more than 4 files"):
        scan_image_folder(root, max_files=4)


@pytest.mark.slow
def test_a_truncated_source_checkpoint_is_trained_again(tiny, runs_dir, monkeypatch):
    from tl_core.networks import pretrain
    from tl_core.runs.runner import run_config

    config = tiny.replace(weights="source", epochs=1, snapshot_size=0, source="digits", pretrain_epochs=1)
    path = pretrain.checkpoint_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\"")  # a cut-off header
    summary = run_config(config, runs_dir)
    assert summary["status"] == "finished", summary["reason"]
    assert path.stat().st_size > 1000 and (path.stat().st_mode & 0o777) == 0o644
    assert (runs_dir / summary["run_id"] / "model.safetensors").stat().st_mode & 0o777 == 0o644


@pytest.mark.slow
def test_a_sixteen_image_folder_trains_with_default_snapshots(tmp_path, runs_dir):
    from tl_core.analysis.domain_confusion import domain_confusion
    from tl_core.data import image_files
    from tl_core.feasibility import validate
    from tl_core.runs.runner import run_config

    assert validate.MIN_PER_CLASS is image_files.MIN_PER_CLASS
    import numpy as np

    rng = np.random.default_rng(0)
    assert 0 <= domain_confusion(rng.normal(size=(3, 4)), rng.normal(size=(3, 4))).acc <= 1
    root = tmp_path / "small"
    for c, name in enumerate(("a", "b")):
        for i in range(8):
            _png(root / name / f"{i}.png")
    folder = f"folder:{root}"
    config = RunConfig(source=folder, target=folder, backbone="small_cnn", weights="random", strategy="fine-tune",
                       labels_per_class=None, epochs=1, batch_size=8, img_size=16, device="cpu")
    summary = run_config(config, runs_dir)
    assert summary["status"] == "finished", summary["reason"]


@pytest.mark.slow
def test_snapshots_stop_at_the_per_run_cap(tiny, runs_dir, monkeypatch):
    from tl_core.runs.runner import run_config

    monkeypatch.setenv("TL_RUN_SNAPSHOT_MAX_MB", "0.01")
    summary = run_config(tiny.replace(epochs=2), runs_dir)
    assert summary["status"] == "finished", summary["reason"]
    assert len(list((runs_dir / summary["run_id"] / "snapshots").glob("*.npz"))) == 1
    assert "limit" in summary["snapshot_note"]


def test_old_feasibility_sessions_are_removed_when_a_new_one_starts(tmp_path, monkeypatch):
    from tl_core.feasibility.uploads import new_session_dir

    old, recent = new_session_dir(tmp_path), new_session_dir(tmp_path)
    os.utime(old, (0, 0))
    monkeypatch.setenv("TL_SESSION_MAX_AGE_HOURS", "1")
    new = new_session_dir(tmp_path)
    assert not old.exists() and recent.exists() and new.exists()
