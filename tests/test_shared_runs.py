"""A run filled from an identical one (issue 22's classroom bug) looks like its origin: the curves, the snapshots,
the evaluation and the progress are there, whether the origin had finished or was still in flight."""
import os

import pytest

from tl_core.runs.status import Status
from tl_core.serving.jobs import JobManager
from tl_core.serving.owners import owner_id


def _same_as_origin(manager, shared: str, origin: str) -> None:
    mine, theirs = manager.view(shared), manager.view(origin)
    assert mine.status is Status.FINISHED and mine.summary["shared_from"] == origin
    assert mine.history == theirs.history and len(mine.history) == theirs.epochs
    assert mine.pretrain_history == theirs.pretrain_history
    assert [epoch for epoch, _ in mine.snapshots] == [epoch for epoch, _ in theirs.snapshots] != []
    assert all(path.startswith(str(manager.store.run_dir(shared).path)) for _, path in mine.snapshots)
    assert (mine.epoch, mine.started) == (theirs.epoch, theirs.started)
    assert mine.target_acc == theirs.target_acc
    assert manager.store.run_dir(shared).read_json("evaluation.json") == \
        manager.store.run_dir(origin).read_json("evaluation.json")


@pytest.mark.slow
def test_a_run_shared_from_a_finished_one_has_its_history_and_snapshots(runs_dir, tiny):
    manager = JobManager(runs_dir, slots=1, executor="threads")
    try:
        origin = manager.submit(tiny.replace(weights="source"), owner=owner_id("a"))
        manager.wait(origin, 300)
        shared = manager.submit(tiny.replace(weights="source"), owner=owner_id("b"))
        assert manager.computations == 1
        _same_as_origin(manager, shared, origin)
    finally:
        manager.close()


def test_a_run_that_followed_one_in_flight_keeps_its_history_once_it_ends(runs_dir, tiny):
    manager = JobManager(runs_dir, slots=1, executor="threads")
    try:
        origin = manager.submit(tiny, owner=owner_id("a"))
        follower = manager.submit(tiny, owner=owner_id("b"))
        manager.wait(origin, 300)
        manager.wait(follower, 300)
        assert manager.computations == 1
        _same_as_origin(manager, follower, origin)
    finally:
        manager.close()


def test_a_shared_run_from_before_a_restart_has_its_records_history(runs_dir, tiny):
    manager = JobManager(runs_dir, slots=1, executor="threads")
    try:
        origin = manager.submit(tiny, owner=owner_id("a"))
        manager.wait(origin, 300)
    finally:
        manager.close()
    manager = JobManager(runs_dir, slots=1, executor="threads")
    try:
        shared = manager.submit(tiny, owner=owner_id("b"))
        assert manager.computations == 0
        _same_as_origin(manager, shared, origin)
    finally:
        manager.close()


def test_hard_linked_copies_of_a_file_are_parsed_once_and_a_changed_file_again(tmp_path):
    from tl_core.records.parsed_files import parsed

    calls = []

    def parse(path):
        calls.append(path)
        return path.read_text().splitlines()

    origin, copy = tmp_path / "origin.jsonl", tmp_path / "copy.jsonl"
    origin.write_text("1\n")
    os.link(origin, copy)
    assert parsed(origin, parse) == ["1"] and parsed(copy, parse) == ["1"] and len(calls) == 1
    with open(origin, "a") as f:
        f.write("2\n")
    assert parsed(copy, parse) == ["1", "2"] and len(calls) == 2
    assert parsed(tmp_path / "missing.jsonl", parse) is None
