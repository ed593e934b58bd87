"""Identical runs are computed once: one identity for what a run computes, single flight for runs in flight, and
a finished identical run's result shared at once."""
from tl_core.runs.fingerprint import fingerprint
from tl_core.runs.status import Status
from tl_core.serving.jobs import JobManager
from tl_core.serving.owners import owner_id


def test_labels_do_not_change_a_runs_identity_but_what_it_computes_does(tiny):
    same = tiny.replace(name="mine", role="lesson-arm", experiment="lesson:why:ab12", arm="fine-tune")
    assert fingerprint(tiny) == fingerprint(same)
    assert fingerprint(tiny) != fingerprint(tiny.replace(seed=1))
    assert fingerprint(tiny) != fingerprint(tiny.replace(lr=tiny.lr * 2))


def test_two_identical_submissions_are_one_computation_and_a_finished_one_is_shared_at_once(runs_dir, tiny):
    manager = JobManager(runs_dir, slots=1, executor="threads")
    try:
        first = manager.submit(tiny, owner=owner_id("a"))
        second = manager.submit(tiny.replace(experiment="lesson:why:cd34", role="lesson-arm"), owner=owner_id("b"))
        assert manager.view(second).owner == owner_id("b")
        views = [manager.wait(first, 300), manager.wait(second, 300)]
        assert [v.status for v in views] == [Status.FINISHED, Status.FINISHED]
        assert manager.computations == 1
        assert views[1].summary["shared_from"] == first
        assert views[1].summary["target_acc"] == views[0].summary["target_acc"]
        record = manager.store.run_dir(second)
        assert record.weights_path.is_file() and len(record.read_metrics()) == tiny.epochs
        assert manager.store.get(second)["experiment"] == "lesson:why:cd34"  # lessons find it under their own id

        third = manager.submit(tiny, owner=owner_id("c"))
        assert manager.view(third).status is Status.FINISHED  # at once, not queued
        assert manager.computations == 1
        assert manager.submit(tiny.replace(seed=tiny.seed + 1), owner=owner_id("c")) != third
        assert manager.computations in (1, 2)  # the different seed queues as a computation of its own
    finally:
        manager.close()


def test_a_follower_that_stops_leaves_the_shared_run_going(runs_dir, tiny):
    manager = JobManager(runs_dir, slots=1, executor="threads")
    try:
        long = tiny.replace(epochs=200)
        leader = manager.submit(long, owner=owner_id("a"))
        follower = manager.submit(long, owner=owner_id("b"))
        manager.stop(follower, by=owner_id("b"))
        assert manager.view(follower).status is Status.STOPPED
        assert manager.view(leader).active
    finally:
        manager.close()
