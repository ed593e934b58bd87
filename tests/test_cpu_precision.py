"""The CPU's precision is chosen by timing, once per boot: bf16 only where it is clearly faster."""
import json
import threading

import pytest
import torch

from tl_core.machine import cpu_precision


def test_bf16_is_chosen_only_where_its_median_step_is_clearly_faster():
    assert cpu_precision.bf16_pays([0.80, 0.78, 0.83])
    assert cpu_precision.bf16_pays([0.90, 0.85, 1.20])
    assert not cpu_precision.bf16_pays([0.985, 0.70, 1.10])  # the median, not the best repeat, decides
    assert not cpu_precision.bf16_pays([1.12, 1.05, 1.19])


def test_the_timing_pairs_both_precisions_on_a_real_training_step_and_leaves_the_random_numbers_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    ratios = cpu_precision.time_bf16_against_fp32(repeats=3, steps=1)
    assert len(ratios) == 3 and all(0.1 < r < 10 for r in ratios)
    assert torch.equal(torch.rand(3), expected)  # a run's initial weights do not depend on who timed


@pytest.fixture
def fresh_boot(tmp_path, monkeypatch):
    """A boot of its own (its id in a file, its answers in a temp dir) and a process that has not asked yet."""
    boot = tmp_path / "boot_id"
    boot.write_text("boot-1\n")
    monkeypatch.setattr(cpu_precision, "BOOT_ID", boot)
    monkeypatch.setattr(cpu_precision.tempfile, "tempdir", str(tmp_path))
    timings = []

    def timed(ratios):
        def time_it():
            timings.append(ratios)
            return ratios
        monkeypatch.setattr(cpu_precision, "time_bf16_against_fp32", time_it)

    cpu_precision.bf16_is_faster_here.cache_clear()
    yield boot, timed, timings
    cpu_precision.bf16_is_faster_here.cache_clear()


def test_a_boot_times_the_precisions_once_and_every_later_process_reads_the_answer(fresh_boot, tmp_path):
    boot, timed, timings = fresh_boot
    timed([1.10, 1.05, 1.20])
    assert cpu_precision.bf16_is_faster_here() is False
    cpu_precision.bf16_is_faster_here.cache_clear()  # another process of the same boot
    timed([0.5, 0.5, 0.5])
    assert cpu_precision.bf16_is_faster_here() is False and len(timings) == 1
    written = json.loads((tmp_path / "transfer-lab-cpu-precision-boot-1.json").read_text())
    assert [answer["median_ratio"] for answer in written.values()] == [1.1]

    boot.write_text("boot-2\n")  # a new boot may be another host: it asks again
    cpu_precision.bf16_is_faster_here.cache_clear()
    assert cpu_precision.bf16_is_faster_here() is True and len(timings) == 2


def test_an_unreadable_answer_is_timed_again(fresh_boot, tmp_path):
    _, timed, timings = fresh_boot
    (tmp_path / "transfer-lab-cpu-precision-boot-1.json").write_text("{not json")
    timed([0.8, 0.8, 0.8])
    assert cpu_precision.bf16_is_faster_here() is True and len(timings) == 1


def test_processes_that_start_together_wait_for_one_timing(fresh_boot, monkeypatch):
    """The second asker blocks on the first's lock and reads its answer, rather than timing beside it."""
    started, release, timings = threading.Event(), threading.Event(), []

    def slow_timing():
        timings.append(1)
        started.set()
        release.wait(10)
        return [0.8, 0.8, 0.8]

    monkeypatch.setattr(cpu_precision, "time_bf16_against_fp32", slow_timing)
    answers = []
    first = threading.Thread(target=lambda: answers.append(cpu_precision.bf16_is_faster_here.__wrapped__()))
    second = threading.Thread(target=lambda: answers.append(cpu_precision.bf16_is_faster_here.__wrapped__()))
    first.start()
    assert started.wait(10)
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting on the lock
    release.set()
    first.join(10)
    second.join(10)
    assert answers == [True, True] and len(timings) == 1
