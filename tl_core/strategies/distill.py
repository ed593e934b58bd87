from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from tl_core.errors import ConfigError
from tl_core.machine.paths import runs_dir
from tl_core.runs.schema import spec
from tl_core.runs.status import Status
from tl_core.strategies.base import StepOutput, Strategy, scratch_twin
from tl_core.strategies.registry import register
from tl_core.strategies.teacher import load_teacher, teacher_record


@dataclass
class DistillSettings:
    teacher: str = spec("", "The run id of a finished run whose model teaches.")
    temperature: float = spec(4.0, "T: softens both distributions so the teacher's \"dark knowledge\" shows.",
                              label="temperature T", low=0.1, high=100.0)
    alpha: float = spec(0.7, "Weight of the soft (teacher) loss; 1 − alpha weights the hard-label loss.",
                        label="alpha (weight of the teacher)", low=0.0, high=1.0)
    hard_targets: bool = spec(False, "Learn the teacher's argmax as a label instead of its softened "
                              "probabilities.")


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T² · KL(softmax(teacher/T) ‖ softmax(student/T)), Hinton et al. 2015 (T² keeps gradients comparable)."""
    log_student = F.log_softmax(student_logits.float() / temperature, dim=1)
    log_teacher = F.log_softmax(teacher_logits.float() / temperature, dim=1)
    return F.kl_div(log_student, log_teacher, log_target=True, reduction="batchmean") * temperature ** 2


@register("distill")
class Distill(Strategy):
    """Knowledge distillation (Hinton, Vinyals & Dean 2015): a student matches a teacher's softened outputs.

    The teacher labels the labelled and the unlabelled target images; the student learns from those soft
    targets and from the hard labels it has: L = α·T²·KL(p_teacher^T ‖ p_student^T) + (1 − α)·CE(y, student).
    """

    summary = "Distillation: a small student learns from a finished run's softened predictions plus the labels."
    Settings = DistillSettings
    uses_unlabelled_target = True
    needs_teacher = True
    step_images = (2.0, 2.0)  # the labelled and an unlabelled batch, trained in the student, forward in the teacher
    baseline_label = "without the teacher"
    loss_note = ("The student's training loss mixes the labels' cross-entropy with how far it is from the teacher's "
                 "softened predictions, so it is not on the dashed loss's scale, which counts the labels alone.")

    def __init__(self, settings=None):
        super().__init__(settings)
        self.teacher = None
        self._kl_sum, self._kl_batches = 0.0, 0

    @classmethod
    def baseline(cls, config):
        """Without the teacher: the same student trained on its labels alone, at scratch's own rate."""
        return scratch_twin(config, "without-teacher")

    def check_config(self, config) -> None:
        if not self.settings.teacher:
            raise ConfigError("distill needs a teacher: pass the run id of a finished run (--set teacher=RUN_ID).")
        teacher_config, summary = teacher_record(self.settings.teacher, self._store())
        if summary.get("status") != Status.FINISHED:
            raise ConfigError(f"The teacher run {self.settings.teacher} has not finished: pick a finished run.")
        if teacher_config.target != config.target:
            raise ConfigError(f"The teacher was trained for {teacher_config.target}, not {config.target}: "
                              "pick a teacher run with the same target.")

    def prepare(self, model, task, config):
        super().prepare(model, task, config)
        self.teacher = load_teacher(self.settings.teacher, self._store(), next(model.head.parameters()).device)

    def _store(self) -> Path:
        return self.runs_dir if self.runs_dir is not None else runs_dir()

    def epoch_started(self, model, epoch):
        self._kl_sum, self._kl_batches = 0.0, 0
        return False

    def loss(self, model, batch, progress):
        images = batch.x if batch.x_unlabelled is None else torch.cat([batch.x, batch.x_unlabelled])
        student = model(images)
        with torch.no_grad():
            teacher = self.teacher(images)
        soft = distillation_loss(student, teacher, self.settings.temperature)
        guided = F.cross_entropy(student, teacher.argmax(dim=1)) if self.settings.hard_targets else soft
        logits = student[:len(batch.x)]
        hard = F.cross_entropy(logits, batch.y)
        self._kl_sum += soft.detach() / self.settings.temperature ** 2  # a tensor: no GPU sync per step
        self._kl_batches += 1
        return StepOutput(self.settings.alpha * guided + (1 - self.settings.alpha) * hard, logits)

    def epoch_metrics(self):
        return {"distill_kl": float(self._kl_sum) / self._kl_batches} if self._kl_batches else {}
