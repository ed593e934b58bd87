"""Domain adaptation and distillation end to end on tiny built-in data (CPU, seeded, a few seconds per run):
DANN mixes the domains' features, reports its domain head every epoch and refuses classes the source lacks;
distillation pulls the student toward its teacher; source-only and target-only are the documented references."""
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from tl_core.analysis.intervals import paired_interval
from tl_core.data import load_domain
from tl_core.errors import ConfigError
from tl_core.records.run_dir import RunDir
from tl_core.runs.config import RunConfig
from tl_core.runs.runner import run_config
from tl_core.runs.validation import validate_config
from tl_core.strategies import suggested_lr, suggested_settings
from tl_core.strategies.teacher import load_teacher


def finished(config, runs_dir) -> dict:
    summary = run_config(config, runs_dir)
    assert summary["status"] == "finished", summary["reason"]
    return summary


def metrics(summary) -> list[dict]:
    return RunDir(Path(summary["run_dir"])).read_metrics()


# --- DANN -----------------------------------------------------------------------------------------------------


DANN_EPOCHS = 6  # 786 steps of 64 + 64 images: DANN's fall in domain confusion is still growing at 3 epochs
CONFUSION_SEEDS = (0, 1, 2)  # the fall is judged over these, as every verdict is: one seed's fall is too noisy


def _dann_pair(runs: Path, seed: int) -> dict:
    base = RunConfig(source="synth-digits", target="digits-m", backbone="small_cnn", weights="source", freeze=0,
                     labels_per_class=None, epochs=DANN_EPOCHS, batch_size=64, snapshot_every=0, snapshot_size=300,
                     seed=seed, device="cpu")
    dann_settings = {"domain_weight": 1.0, **suggested_settings("dann", base.source, base.target)}
    full_strength = {"source-only": {}, "dann": {"lr": 0.03, "settings": dann_settings}}
    return {name: finished(base.replace(strategy=name, **{"lr": suggested_lr(name), **full_strength[name]}), runs)
            for name in ("source-only", "dann")}


@pytest.fixture(scope="module")
def dann_runs(tmp_path_factory, data_dir) -> Path:
    return tmp_path_factory.mktemp("dann-runs")


@pytest.fixture(scope="module")
def dann_pair(dann_runs):
    """synth-digits → digits-m (rendered digits to real ones over photos and textures: the SYN NUMBERS → SVHN
    analogue), trained once for the module: source-only and DANN from the shipped synth-digits network and the
    same seed, each at its strategy's suggested learning rate, with a feature snapshot of 300 + 300 test images.
    DANN runs at full strength (domain weight 1, μ0 0.03) with the settings selected for this pair (a discriminator
    of two hidden layers), to test the mechanism as it ships for the pair.

    This pair replaced digits → digits-m here, where 1,257 source images leave the target near chance (0.13–0.15
    source-only, 0.18–0.21 DANN) and DANN's fall in domain confusion was within seed and CPU noise (0.90–0.975
    against 0.97–0.98 over seeds 0–4, 1 and 2 threads): the test failed on some machines. Here, at 6 epochs with the
    discriminator stage 4 of the selection chose (no batch standardisation, no dropout), one thread: target
    accuracy +0.145 to +0.173 on seeds 0, 2 and 3 (+0.156 on seed 0 with two threads)."""
    return _dann_pair(dann_runs, 0)


@pytest.fixture(scope="module")
def dann_pairs(dann_runs, dann_pair) -> list[dict]:
    """The pair on each of CONFUSION_SEEDS (seed 0's is `dann_pair`)."""
    return [dann_pair, *(_dann_pair(dann_runs, seed) for seed in CONFUSION_SEEDS[1:])]


@pytest.mark.slow
def test_dann_lowers_domain_confusion_relative_to_source_only(dann_pairs):
    """One seed's fall moves as much with the machine as with the seed: at 6 epochs, seeds 0–3 on one thread fell
    0.122, 0.095, 0.068 and 0.043; seed 0 on two threads 0.077. So the fall is judged as every verdict is, by the
    lab's t-interval over seeds (its low end measured 0.028 on one thread), not by one seed against a margin."""
    source_only = [p["source-only"]["domain_confusion_acc"] for p in dann_pairs]
    dann = [p["dann"]["domain_confusion_acc"] for p in dann_pairs]
    assert min(source_only) > 0.75  # a linear classifier tells these domains apart from source-only features
    fall = paired_interval(source_only, dann)
    assert fall.low > 0, (fall, source_only, dann)  # source-only 0.81–0.83, DANN 0.70–0.77
    assert paired_interval([p["source-only"]["a_distance"] for p in dann_pairs],
                           [p["dann"]["a_distance"] for p in dann_pairs]).low > 0


@pytest.mark.slow
def test_dann_lifts_target_accuracy_above_source_only(dann_pair):
    gain = dann_pair["dann"]["target_acc"] - dann_pair["source-only"]["target_acc"]
    assert gain > 0.08, gain  # measured +0.145 to +0.173 (seeds 0, 2, 3)


@pytest.mark.slow
def test_dann_reports_its_domain_head_accuracy_every_epoch(dann_pair):
    rows = metrics(dann_pair["dann"])
    assert [r["epoch"] for r in rows] == list(range(1, DANN_EPOCHS + 1))
    assert all(0.0 <= r["domain_head_acc"] <= 1.0 for r in rows)
    lambdas = [r["dann_lambda"] for r in rows]
    assert lambdas == sorted(lambdas) and 0.0 < lambdas[0] < lambdas[-1] < 1.0
    assert "domain_head_acc" not in metrics(dann_pair["source-only"])[0]


def _class_folder(root: Path, classes: list[str], per_class: int = 3) -> Path:
    for i, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for j in range(per_class):
            Image.new("RGB", (12, 12), (40 * i, 20 * j, 200)).save(root / name / f"{j}.png")
    return root


@pytest.mark.parametrize("strategy", ["dann", "source-only"])
def test_a_target_with_classes_the_source_lacks_is_refused(tmp_path, runs_dir, strategy):
    pets = _class_folder(tmp_path / "pets", ["cat", "dog"])
    config = RunConfig(source="digits", target=f"folder:{pets}", weights="random", freeze=0, strategy=strategy)
    with pytest.raises(ConfigError, match="lacks cat, dog"):
        validate_config(config)
    validate_config(config.replace(target="digits-m"))  # the same run on a target with the source's classes is fine


# --- distillation ---------------------------------------------------------------------------------------------


def _kl_to(teacher_run: str, student_run: str, images: torch.Tensor, runs_dir) -> float:
    """Mean KL(teacher ‖ student) of the two runs' saved models on `images` (temperature 1)."""
    cpu = torch.device("cpu")
    teacher, student = load_teacher(teacher_run, runs_dir, cpu), load_teacher(student_run, runs_dir, cpu)
    log_t, log_s = F.log_softmax(teacher(images), 1), F.log_softmax(student(images), 1)
    return F.kl_div(log_s, log_t, log_target=True, reduction="batchmean").item()


@pytest.mark.slow
def test_distillation_moves_the_student_toward_the_teacher(tiny, runs_dir):
    base = tiny.replace(source="digits", target="digits", snapshot_size=0)
    teacher = finished(base.replace(strategy="scratch", labels_per_class=None, epochs=3), runs_dir)
    student_config = base.replace(labels_per_class=5, epochs=3)
    student = finished(student_config.replace(strategy="distill", settings={"teacher": teacher["run_id"]}), runs_dir)
    alone = finished(student_config.replace(strategy="scratch"), runs_dir)

    kl = [r["distill_kl"] for r in metrics(student)]
    assert kl[-1] < kl[0], kl  # the distillation term itself falls during training
    test_images = load_domain("digits", tiny.img_size).test.images
    assert _kl_to(teacher["run_id"], student["run_id"], test_images, runs_dir) < 0.7 * _kl_to(
        teacher["run_id"], alone["run_id"], test_images, runs_dir)  # closer to the teacher than a student without it


# --- the references of every adaptation table -----------------------------------------------------------------


@pytest.mark.slow
def test_source_only_learns_from_the_source_labels_and_tests_on_the_target(tiny, runs_dir):
    summary = finished(tiny.replace(strategy="source-only", epochs=1, snapshot_size=0), runs_dir)
    source, target = load_domain("digits", tiny.img_size), load_domain("digits-m", tiny.img_size)
    assert summary["labelled_examples"] == len(source.train.labels)  # the label budget concerns the target only
    evaluation = RunDir(Path(summary["run_dir"])).read_json("evaluation.json")
    assert sum(evaluation["per_class_count"]) == len(target.test.labels)


@pytest.mark.slow
def test_target_only_uses_every_target_label(tiny, runs_dir):
    summary = finished(tiny.replace(strategy="target-only", labels_per_class=5, epochs=1, snapshot_size=0), runs_dir)
    assert summary["labelled_examples"] == len(load_domain("digits-m", tiny.img_size).train.labels)
    assert RunDir(Path(summary["run_dir"])).read_config().labels_per_class is None  # recorded as it really ran
