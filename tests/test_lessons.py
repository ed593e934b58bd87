"""Every lesson plans valid runs, and a shortened version of each runs to a measured verdict on tiny data."""
import pytest

from tl_core.lessons import LESSONS, collect, lesson, verdict
from tl_core.records.store import RunStore
from tl_core.runner import run_config
from tl_core.validation import validate_config


@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.key)
def test_full_lessons_plan_valid_configs(item, data_dir):
    fake_previous = [{"config": {"name": "the big one", "role": "teacher"}, "summary": {"run_id": "x", "status": "finished"}}]
    for stage in item.stages:
        configs = stage(False, fake_previous)
        assert configs
        for config in configs:
            if config.strategy != "distill":  # a distill config names a teacher run that exists only once trained
                validate_config(config)
    assert item.explanation and item.expectation and item.minutes_on_cpu > 0


@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.key)
def test_quick_lesson_runs_to_its_verdict(item, runs_dir):
    runs, ids = [], []
    for stage in item.stages:
        for config in stage(True, runs):
            summary = run_config(config.replace(device="cpu"), runs_dir)
            assert summary["status"] == "finished", summary["reason"]
            ids.append(summary["run_id"])
        runs = collect(ids, RunStore(runs_dir))
    met, text = verdict(item.key, runs)
    assert met is not None, text
    assert any(ch.isdigit() for ch in text)


def test_unknown_lesson_names_the_valid_ones():
    with pytest.raises(KeyError, match="why-transfer"):
        lesson("nope")
