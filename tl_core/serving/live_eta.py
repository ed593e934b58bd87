"""How long a running run has left, from its own steps as the server sees them (a run's Step events reach the
server only every few steps: `tl_core.serving.executors.worker`). The pace is the median of the latest epochs' own
paces, so the first epoch's warm-up, or a load that has come or gone, does not weigh on the rest of the run; the
time between epochs (evaluation, probes, snapshots) is added once per epoch left."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

RECENT_EPOCHS = 3  # the pace: the median of the latest epochs' own paces
RECENT_STEPS = 5  # steps into an epoch before its own pace counts


def _step_seconds(steps: tuple[float, int, float, int] | None, at_least: int) -> float | None:
    """Seconds per step between an epoch's first and latest step seen, once they are `at_least` steps apart."""
    if steps is None or steps[3] - steps[1] < at_least:
        return None
    first_at, first, last_at, last = steps
    return (last_at - first_at) / (last - first)


@dataclass
class StepClock:
    """The run proper's steps as they are seen: what came before its first step (pretraining, data, the snapshot
    before training) is done and never counted."""

    first_step_at: float | None = None
    last_step_at: float | None = None
    between_epochs: bool = False  # an epoch has ended and the next one's first step has not come yet
    last_step: int = 0
    # last step seen of an epoch → first step seen of the next, less the steps between them
    epoch_gaps: list[float] = field(default_factory=list)
    epoch_steps: tuple[float, int, float, int] | None = None  # this epoch's first and latest step seen: (at, step)×2
    epoch_paces: list[float] = field(default_factory=list)  # seconds per step within each epoch that ended

    def step(self, step: int, now: float) -> None:
        if self.first_step_at is None:
            self.first_step_at = now
        if self.between_epochs and self.last_step_at is not None:
            steps_between = (step - self.last_step) * (self.epoch_paces[-1] if self.epoch_paces else 0.0)
            self.epoch_gaps.append(max(0.0, now - self.last_step_at - steps_between))
        new_epoch = self.between_epochs or self.epoch_steps is None
        self.epoch_steps = (now, step, now, step) if new_epoch else (*self.epoch_steps[:2], now, step)
        self.between_epochs = False
        self.last_step_at, self.last_step = now, step

    def epoch_ended(self) -> None:
        self.between_epochs = True
        pace = _step_seconds(self.epoch_steps, 1)
        if pace is not None:
            self.epoch_paces.append(pace)

    def seconds_left(self, step: int, total_steps: int, epochs: int, now: float) -> float | None:
        """Its remaining steps at the pace of its steps, then a gap after each remaining epoch as long as the
        gaps so far (the last one stands for the end of the run: test evaluation, weights); None before a step."""
        if not step or self.first_step_at is None:
            return None
        in_gap = now - self.last_step_at if self.between_epochs else 0.0
        stepping = now - self.first_step_at - sum(self.epoch_gaps) - in_gap
        under_way = _step_seconds(self.epoch_steps, RECENT_STEPS)
        paces = (self.epoch_paces + ([under_way] if under_way is not None else []))[-RECENT_EPOCHS:]
        per_step = (statistics.median(paces) if paces
                    else stepping / max(1, step - 1))  # the first step's own time is not measured
        gap = statistics.median(self.epoch_gaps) if self.epoch_gaps else in_gap
        gaps_left = max(0, (epochs or 1) - len(self.epoch_gaps))
        return max(0.0, per_step * (total_steps - step) + gap * gaps_left - in_gap)
