"""A card's time promise counts each run once: its own queued runs are its work, never "ahead"; other owners'
runs are; every stage of a staged plan is laid out on the job manager's slots; and what is left shrinks as runs
finish. A fake job manager stands for the queue (nothing trains), and the pace comes from finished-run rows."""
import pytest

from tl_core import lessons
from tl_core.lessons import lesson, stages_left
from tl_core.records.run_view import RunView
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status
from tl_core.serving import calibration, promises
from tl_core.serving.fair_queue import FairQueue
from tl_core.serving.promises import _Run, lay_out
from tl_view.views import promise_text


def rows():
    """Finished runs of the lessons' backbones (lesson 5's students are small_cnn_tiny) and size at each freeze
    depth: the pace every estimate here uses (nothing timed)."""
    configs = [RunConfig(backbone=backbone, img_size=32, batch_size=64, freeze=k).to_dict()
               for backbone in ("small_cnn", "small_cnn_tiny") for k in range(5)
               for _ in range(calibration.FINISHED_RUNS_NEEDED)]  # enough at every depth: no timing starts
    return [{"status": "finished", "device": "cpu", "config": config, "summary": {"labelled_examples": 50},
             "metrics": [{"epoch": e, "images_per_s": 1000.0, "seconds": 2.0} for e in (1, 2)]} for config in configs]


class FakeManager:
    """What `tl_core.serving.promises` reads of a JobManager: its slots, the runs in a slot, a copy of the queue,
    views."""

    def __init__(self, slots=1):
        self.slots, self.store = slots, None
        self.running: list[str] = []
        self.queue = FairQueue()
        self.views: dict[str, RunView] = {}

    def add(self, run_id, config, owner, running=False, eta=None):
        status = Status.RUNNING if running else Status.QUEUED
        self.views[run_id] = RunView(run_id, config, status, owner=owner, eta_seconds=eta)
        if running:
            self.running.append(run_id)
        else:
            self.queue.append(owner, run_id)

    def finish(self, run_id):
        self.views[run_id].status = Status.FINISHED
        if run_id in self.running:
            self.running.remove(run_id)
        self.queue.remove(run_id)

    def schedule_state(self):
        return list(self.running), self.queue.copy()

    def view(self, run_id):
        return self.views.get(run_id)

    def job(self, run_id):
        return None


def submit_stage(manager, configs, owner, prefix):
    ids = [f"{prefix}-{i}" for i in range(len(configs))]
    for i, (run_id, config) in enumerate(zip(ids, configs)):
        manager.add(run_id, config, owner, running=not manager.running and i == 0)
    return ids


def as_runs(manager, ids):
    """The lesson's runs as `collect` gives them, from the fake manager's views."""
    return [RunView.of(manager.views[i].config, {"run_id": i, "status": manager.views[i].status.value}) for i in ids]


def test_a_lesson_card_s_own_queued_runs_are_its_work_not_runs_ahead(data_dir):
    why = lesson("why-transfer")
    manager = FakeManager()
    before = promises.lesson_promise(manager, "ann", why, rows=rows())
    ids = submit_stage(manager, stages_left(why)[0], "ann", "why")  # pressed: 15 runs, one running
    after = promises.lesson_promise(manager, "ann", why, as_runs(manager, ids), ids, rows=rows())
    assert after.runs == before.runs == 3 * why.seeds
    assert after.runs_ahead == 0 and after.wait_s == 0.0
    assert after.total_s == pytest.approx(before.total_s, rel=0.01)
    assert "ahead" not in promise_text(after)


def test_another_owner_s_queued_run_is_ahead(data_dir):
    why = lesson("why-transfer")
    manager = FakeManager()
    alone = promises.lesson_promise(manager, "ann", why, rows=rows())
    other = RunConfig(source="synth-digits", target="digits", epochs=8, labels_per_class=5)
    manager.add("bob-1", other, "bob", running=True)
    manager.add("bob-2", other, "bob")
    shared = promises.lesson_promise(manager, "ann", why, rows=rows())
    assert shared.runs_ahead == 2 and shared.runs == alone.runs
    assert shared.work_s == pytest.approx(alone.total_s) and shared.wait_s > 0
    assert shared.total_s == pytest.approx(alone.total_s + shared.wait_s)
    assert "waiting for 2 other runs ahead" in promise_text(shared)


def test_a_staged_plan_is_estimated_stage_after_stage_on_the_slots(data_dir):
    distill = lesson("distillation")
    stages = stages_left(distill)
    assert [len(s) for s in stages] == [distill.seeds, 3 * distill.seeds]  # the teachers, then their students
    students = {c.strategy for c in stages[1]}
    assert students == {"distill", "scratch"}
    promise = promises.lesson_promise(FakeManager(), "ann", distill, rows=rows())
    first_stage = promises.promise(FakeManager(), "ann", stages[:1], rows=rows())
    assert promise.runs == 4 * distill.seeds
    assert promise.total_s > first_stage.total_s * 2  # the students cost more than their teachers


def test_the_layout_waits_for_a_stage_to_end_before_the_next_takes_the_free_slots():
    def run(key, seconds, mine=True):
        return _Run(key, "ann" if mine else "bob", seconds, mine)

    runs = {}
    stage_one, stage_two = [run("a", 10.0), run("b", 2.0)], [run("c", 5.0)]
    # two slots: stage one ends at 10 s (its longer run), stage two starts at the next look (1 s later)
    total, ahead = lay_out(2, [], FairQueue(), runs, [stage_one, stage_two], "ann", stage_gap_s=1.0)
    assert total == pytest.approx(16.0) and ahead == 0
    # one slot, another owner's run holding it for 30 s: everything starts after it
    total, ahead = lay_out(1, [run("x", 30.0, mine=False)], FairQueue(), {}, [stage_one, stage_two], "ann", 1.0)
    assert total == pytest.approx(30.0 + 12.0 + 1.0 + 5.0) and ahead == 1


def test_what_is_left_shrinks_as_the_lesson_s_runs_finish(data_dir):
    distill = lesson("distillation")
    manager = FakeManager()
    teachers = submit_stage(manager, stages_left(distill)[0], "ann", "teacher")
    promised = [promises.lesson_promise(manager, "ann", distill, as_runs(manager, teachers), teachers, rows=rows())]
    for run_id in teachers:
        manager.finish(run_id)
        if manager.queue.order():
            next_id = manager.queue.popleft()
            manager.running.append(next_id)
            manager.views[next_id].status = Status.RUNNING
        promised.append(promises.lesson_promise(manager, "ann", distill, as_runs(manager, teachers), teachers,
                                                rows=rows()))
    runs = as_runs(manager, teachers)
    students = submit_stage(manager, lessons.stages_left(distill, runs)[0], "ann", "student")
    ids = teachers + students
    promised.append(promises.lesson_promise(manager, "ann", distill, as_runs(manager, ids), ids, rows=rows()))
    manager.finish(students[0])
    promised.append(promises.lesson_promise(manager, "ann", distill, as_runs(manager, ids), ids, rows=rows()))
    seconds = [p.total_s for p in promised]
    teachers_done = seconds[:distill.seeds + 1]  # each step, one teacher more has finished
    assert all(later < earlier for earlier, later in zip(teachers_done, teachers_done[1:])), seconds
    assert seconds[-2] == pytest.approx(seconds[-3])  # the students queued: the same work, now in the queue
    assert seconds[-1] < seconds[-2]  # a student finished
    assert [p.runs for p in promised][0] == 4 * distill.seeds and promised[-1].runs == 3 * distill.seeds - 1


def test_a_feasibility_check_is_estimated_over_its_three_stages(data_dir):
    from tl_core.feasibility.pipeline import Plan
    from tl_core.feasibility.pipeline import stages_left as check_stages
    from tl_core.feasibility.sweep import Candidate, SweepSettings

    plan = Plan(SweepSettings(folds=3), (Candidate("small_cnn", "source"), Candidate("small_cnn", "random")),
                curve_folds=1)
    stages = check_stages(plan, ["fold-0", "fold-1", "fold-2"], images_per_class=30)
    assert [len(s) for s in stages] == [6, 6, 2 * 6]  # probes; 2 depths × 3 folds; 6 budgets × 2 arms on 1 fold
    assert [len(s) for s in check_stages(plan, ["fold-0", "fold-1", "fold-2"], 30, done=("probe",))] == [6, 12]
    whole = promises.check_promise(FakeManager(), "ann", plan, 120, 30, 4, rows=rows())
    later = promises.check_promise(FakeManager(), "ann", plan, 120, 30, 4, done=("probe", "fine-tune"), rows=rows())
    assert whole.runs == 24 and later.runs == 12 and later.total_s < whole.total_s
