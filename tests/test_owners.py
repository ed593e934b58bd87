"""Owners are enforced in the engine: only a run's owner (or the teacher) stops or deletes it; the queue is fair
across owners; paths from the browser stay under their roots."""
import os

import pytest

from tl_core.feasibility.errors import UploadError
from tl_core.runs.status import Status
from tl_core.serving.confine import PathRefused, confined_folder, confined_weights_file
from tl_core.serving.fair_queue import FairQueue
from tl_core.serving.jobs import JobManager
from tl_core.serving.owners import Actor, NotOwner, describe_owner, is_teacher_token, owner_id

ALICE, BOB = owner_id("alice-secret"), owner_id("bob-secret")


@pytest.fixture
def manager(runs_dir):
    manager = JobManager(runs_dir, slots=1, executor="threads")
    yield manager
    manager.close()


@pytest.mark.slow
def test_another_user_cannot_stop_or_delete_a_run_but_its_owner_and_the_teacher_can(manager, tiny):
    long = tiny.replace(epochs=200)
    run_id = manager.submit(long, owner=ALICE)
    with pytest.raises(NotOwner, match="another user's"):
        manager.stop(run_id, by=BOB)
    with pytest.raises(NotOwner):
        manager.stop(run_id)  # the command line is not Alice either
    assert manager.view(run_id).active
    manager.stop(run_id, by=Actor(BOB, teacher=True))
    assert manager.wait(run_id, timeout_s=120).status is Status.STOPPED
    with pytest.raises(NotOwner, match="only its owner"):
        manager.store.delete(run_id, by=BOB)
    assert manager.store.get(run_id) is not None
    manager.store.delete(run_id, by=ALICE)
    assert manager.store.get(run_id) is None


@pytest.mark.slow
def test_the_command_line_acts_on_its_own_runs_only(manager, tiny):
    cli_run = manager.submit(tiny.replace(epochs=200))
    manager.stop(cli_run)
    assert manager.wait(cli_run, timeout_s=120).status is Status.STOPPED
    with pytest.raises(NotOwner, match="command line's"):
        manager.store.delete(cli_run, by=ALICE)
    manager.store.delete(cli_run)
    assert manager.store.get(cli_run) is None


def test_the_by_column_never_shows_another_users_id():
    assert describe_owner(ALICE, ALICE) == "you"
    assert describe_owner(ALICE, BOB) == "another user"
    assert describe_owner("", BOB) == "command line"
    assert owner_id("alice-secret") == ALICE != owner_id("alice-secret2")


def test_teacher_mode_needs_the_servers_token():
    assert is_teacher_token("s3cret", "s3cret")
    assert not is_teacher_token("guess", "s3cret")
    assert not is_teacher_token("", "")  # no token configured: nobody is teacher


def test_the_queue_is_round_robin_across_owners():
    queue = FairQueue()
    for i in range(5):
        queue.append("sweeper", f"s{i}")
    queue.append("student", "t0")
    queue.append("late", "l0")
    assert queue.order() == ["s0", "t0", "l0", "s1", "s2", "s3", "s4"]
    assert queue.position("t0") == 2
    assert [queue.popleft() for _ in range(3)] == ["s0", "t0", "l0"]
    queue.append("student", "t1")
    assert queue.order() == ["s1", "t1", "s2", "s3", "s4"]
    assert queue.remove("s2") and "s2" not in queue and len(queue) == 4


def test_an_owner_just_served_waits_behind_owners_who_arrive_later():
    queue = FairQueue()
    queue.append("sweeper", "s0")
    assert queue.popleft() == "s0"  # the queue was empty: the sweep starts at once
    for i in range(1, 4):
        queue.append("sweeper", f"s{i}")
    queue.append("student", "t0")
    assert queue.order() == ["t0", "s1", "s2", "s3"]


@pytest.mark.slow
def test_a_sweep_cannot_starve_another_owner(manager, tiny):
    long = tiny.replace(epochs=200)
    first = manager.submit(long, owner=ALICE)  # occupies the slot
    sweep = [manager.submit(long.replace(seed=s), owner=ALICE) for s in range(1, 5)]
    single = manager.submit(long.replace(seed=99), owner=BOB)
    assert manager.queue_position(single) == 1  # Alice has had a run started already
    assert manager.queue_position(sweep[0]) == 2 and manager.queue_position(sweep[-1]) == 5
    for run_id in [first, *sweep, single]:
        manager.stop(run_id, by=Actor("", teacher=True))


@pytest.fixture
def roots(tmp_path, monkeypatch):
    data, weights, outside = tmp_path / "data-root", tmp_path / "weights-root", tmp_path / "outside"
    for cls in ("a", "b"):
        (data / "mine" / cls).mkdir(parents=True)
        (outside / "theirs" / cls).mkdir(parents=True)
    weights.mkdir()
    (weights / "ok.safetensors").write_bytes(b"x")
    (outside / "secret.safetensors").write_bytes(b"x")
    os.symlink(outside / "theirs", data / "escape")
    os.symlink(outside / "secret.safetensors", weights / "escape.safetensors")
    monkeypatch.setenv("TL_DATA_ROOT", str(data))
    monkeypatch.delenv("TL_UPLOAD_ROOT", raising=False)
    monkeypatch.setenv("TL_WEIGHTS_ROOT", str(weights))
    return data, weights, outside


def test_folders_from_the_browser_stay_under_the_data_root(roots):
    data, _, outside = roots
    assert confined_folder("mine") == data.resolve() / "mine"
    with pytest.raises(UploadError, match="not a full path"):
        confined_folder(str(outside / "theirs"))
    with pytest.raises(UploadError, match="outside the data root"):
        confined_folder("../outside/theirs")
    with pytest.raises(UploadError, match="through a link"):
        confined_folder("escape")


def test_weights_files_from_the_browser_stay_under_the_weights_root_and_reveal_nothing(roots):
    _, weights, _ = roots
    assert confined_weights_file("ok.safetensors") == weights.resolve() / "ok.safetensors"
    refusals = []
    for name in ("/etc/shadow", "/etc/no-such-file"):
        with pytest.raises(PathRefused) as err:
            confined_weights_file(name)
        refusals.append(str(err.value).replace(name, "NAME"))
    assert refusals[0] == refusals[1]  # an existing and a missing file get the same answer
    with pytest.raises(PathRefused, match="through a link"):
        confined_weights_file("escape.safetensors")
    with pytest.raises(PathRefused, match="outside the weights root"):
        confined_weights_file("../outside/secret.safetensors")
