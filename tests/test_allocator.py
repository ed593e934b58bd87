"""Memory a training step frees stays with the process for the next step (`tl_core.machine.allocator`)."""
import platform
import subprocess
import sys
import textwrap

import pytest

from tl_core.machine import allocator
from tl_core.runs.runner import run_config
from tl_core.serving import calibration
from tl_core.train import loop

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")

# In a fresh process: small_cnn training steps at 32 px on 64 images, 2 threads, as a lesson's run trains; prints
# the minor page faults per step after warm-up. Left to glibc, fresh processes took 1,100–6,600 a step (median 1,662
# in bench/allocator-2026-12-07.log); held, 0–51.
FAULTS_PER_STEP = textwrap.dedent("""
    import resource, sys
    import torch
    from tl_core.backbones import create_backbone
    from tl_core.machine.allocator import hold_freed_memory
    from tl_core.networks.model import TransferModel
    assert hold_freed_memory()
    torch.set_num_threads(2)
    model = TransferModel(create_backbone("small_cnn", "random", 32), 10)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (64,))
    def step():
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    for _ in range(5):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
""")


@glibc_only
@pytest.mark.slow
def test_a_held_process_trains_without_faulting_its_activation_buffers_back_in():
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_STEP], capture_output=True, text=True, check=True)
    assert float(out.stdout.strip()) < 200


@glibc_only
def test_holding_is_set_once_per_process():
    assert allocator.hold_freed_memory() is True
    assert allocator.hold_freed_memory() is True


def test_elsewhere_nothing_is_set(monkeypatch):
    allocator.hold_freed_memory.cache_clear()
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    try:
        assert allocator.hold_freed_memory() is False
    finally:
        allocator.hold_freed_memory.cache_clear()


def test_runs_and_the_timing_for_promises_both_hold_freed_memory(tiny, monkeypatch):
    """The pace a promise is timed at and the pace runs train at come from processes in the same state."""
    calls = []
    monkeypatch.setattr(loop, "hold_freed_memory", lambda: calls.append("run"))
    monkeypatch.setattr(calibration, "hold_freed_memory", lambda: calls.append("timing"))
    assert run_config(tiny.replace(epochs=1))["status"] == "finished"
    calibration.measure_pace("small_cnn", 16, "cpu", batches=1, batch_size=4)
    assert "run" in calls and calls[-1] == "timing"
