"""Issue 22: one user cannot fill a shared server — per-owner limits on runs in flight, run time and feasibility
checks (the teacher exempt), and sane maxima for what the form and a strategy's settings may ask."""
import pytest

from tl_core.errors import ConfigError
from tl_core.runs.status import Status
from tl_core.runs.validation import validate_config
from tl_core.serving.chains import ChainRunner
from tl_core.serving.jobs import JobManager
from tl_core.serving.owners import Actor, owner_id
from tl_core.serving.quotas import QuotaExceeded, max_queued_per_owner

ALICE, BOB = owner_id("alice-secret"), owner_id("bob-secret")
TEACHER = Actor(owner_id("teacher-secret"), teacher=True)


@pytest.fixture
def manager(runs_dir):
    manager = JobManager(runs_dir, slots=1, executor="threads")
    yield manager
    for run_id in manager.active_ids():
        manager.stop(run_id, by=Actor("", teacher=True))
    manager.close()


def test_an_owner_may_have_only_so_many_runs_in_flight_and_is_told_what_to_do(manager, tiny, monkeypatch):
    monkeypatch.setenv("TL_MAX_QUEUED_PER_OWNER", "2")
    long = tiny.replace(epochs=200)
    first, _ = (manager.submit(long.replace(seed=s), owner=ALICE) for s in (1, 2))
    with pytest.raises(QuotaExceeded, match="already have 2 runs queued or running") as refused:
        manager.submit(long.replace(seed=3), owner=ALICE)
    assert "Wait for one to finish, or stop one" in str(refused.value)
    assert len(manager.active_ids()) == 2 and len(manager.store.list()) == 2, "a refused run leaves no record"
    manager.submit(long.replace(seed=4), owner=BOB)  # Bob has his own allowance
    manager.submit(long.replace(seed=5), owner=TEACHER)  # the teacher is exempt
    manager.submit(long.replace(seed=6))  # so is the command line (the server's own user)
    manager.stop(first, by=ALICE)
    manager.wait(first, timeout_s=120)
    manager.submit(long.replace(seed=7), owner=ALICE)


def test_a_stage_that_would_pass_the_limit_queues_nothing(manager, tiny, monkeypatch):
    monkeypatch.setenv("TL_MAX_QUEUED_PER_OWNER", "3")
    runner = ChainRunner(manager)
    stage = [tiny.replace(epochs=200, seed=s) for s in range(4)]
    with pytest.raises(QuotaExceeded, match="queues 4 runs"):
        runner.start("lesson:x:1", ALICE, lambda ids: ("stage 1", [] if ids else stage))
    assert manager.store.list() == []
    assert len(runner.start("lesson:x:2", TEACHER, lambda ids: ("stage 1", [] if ids else stage)).ids) == 4


def test_the_default_limit_lets_the_largest_lesson_and_feasibility_stages_through():
    from tl_core.feasibility.label_curve import DEFAULT_BUDGETS, plan_label_curve
    from tl_core.feasibility.sweep import Candidate, SweepSettings, plan_probe_stage
    from tl_core.lessons import LESSONS, stage_configs

    lesson = max(len(stage_configs(item, 0, False, [])) for item in LESSONS)
    folds = [f"folder:/data/fold-{k}" for k in range(5)]  # the page's most folds
    candidates = [Candidate("small_cnn", "source"), Candidate("small_cnn", "random"),
                  Candidate("resnet18", "imagenet"), Candidate("mobilenetv3_small_100", "imagenet")]
    probe = len(plan_probe_stage(folds, candidates))
    curve = len(plan_label_curve(folds, candidates[0], SweepSettings(), DEFAULT_BUDGETS, folds=1))
    pair = 2  # an experiment (a run and its baseline) beside it
    assert max_queued_per_owner() >= max(lesson, probe, curve) + pair


@pytest.mark.slow
def test_a_run_over_the_time_limit_is_stopped_and_its_record_says_why(manager, tiny, monkeypatch):
    monkeypatch.setenv("TL_MAX_RUN_SECONDS", "0.5")
    run_id = manager.submit(tiny.replace(epochs=200), owner=ALICE)
    view = manager.wait(run_id, timeout_s=120)
    assert view.status is Status.STOPPED
    assert "limit of 0.5 s per run" in view.summary["reason"] and "fewer epochs" in view.summary["hint"]
    recorded = manager.store.get(run_id)["summary"]
    assert recorded["status"] == "stopped" and "TL_MAX_RUN_SECONDS" in recorded["reason"]
    teachers = manager.submit(tiny.replace(epochs=3), owner=TEACHER)
    assert manager.wait(teachers, timeout_s=120).status is Status.FINISHED  # the teacher is exempt


def test_one_feasibility_check_in_flight_per_owner(manager, tiny):
    runner = ChainRunner(manager)
    stage = lambda seed: lambda ids: ("probe", [] if ids else [tiny.replace(epochs=200, seed=seed)])  # noqa: E731
    runner.start("feasibility:a", ALICE, stage(1), only_one="feasibility check")
    with pytest.raises(QuotaExceeded, match="already have a feasibility check in progress"):
        runner.start("feasibility:b", ALICE, stage(2), only_one="feasibility check")
    runner.start("feasibility:c", BOB, stage(3), only_one="feasibility check")
    runner.start("feasibility:d", TEACHER, stage(4), only_one="feasibility check")
    runner.start("lesson:x:1", ALICE, stage(5), only_one="lesson")  # another kind of chain
    runner.stop("feasibility:a")
    runner.start("feasibility:e", ALICE, stage(6), only_one="feasibility check")
    runner.stop_all()


def test_the_forms_sizes_have_sane_maxima(tiny):
    for field, value in (("img_size", 512), ("batch_size", 8192), ("epochs", 10_000)):
        with pytest.raises(ConfigError, match="must be between"):
            validate_config(tiny.replace(**{field: value}))


def test_danns_discriminator_has_an_upper_bound(tiny):
    with pytest.raises(ConfigError, match="hidden"):
        validate_config(tiny.replace(strategy="dann", settings={"hidden": 10**7}))
    validate_config(tiny.replace(strategy="dann", settings={"hidden": 1024}))
