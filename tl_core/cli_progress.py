"""A terminal progress bar fed by the loop's events."""
from __future__ import annotations

import sys

from tqdm import tqdm

from tl_core.train.events import EpochEnd, Event, RunStarted, StageStarted, Step

_SHOWN = {"epoch", "train_loss", "train_acc", "val_acc", "target_acc", "images_per_s", "lr", "seconds"}


class ProgressPrinter:
    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr  # today's stderr, not the one at import
        self.bar: tqdm | None = None
        self.stage = ""

    def __call__(self, event: Event) -> None:
        if isinstance(event, StageStarted):
            print(event.message, file=self.stream)
        elif isinstance(event, RunStarted):
            print(f"Training on {event.device_name}: {event.trainable_params:,} trainable, "
                  f"{event.frozen_params:,} frozen parameters.", file=self.stream)
        elif isinstance(event, Step):
            if self.bar is None or self.stage != event.stage:
                self.close()
                self.stage = event.stage
                self.bar = tqdm(total=event.total_steps, desc=event.stage, file=self.stream, leave=False)
            self.bar.update(event.step - self.bar.n)
            self.bar.set_postfix(epoch=event.epoch, loss=f"{event.loss:.3f}", refresh=False)
        elif isinstance(event, EpochEnd):
            m = event.metrics
            extra = "".join(f"  {k} {v:.3f}" for k, v in m.items() if k not in _SHOWN)
            line = (f"[{event.stage}] epoch {event.epoch}/{event.epochs}  loss {m['train_loss']:.3f}  "
                    f"train {m['train_acc']:.3f}  val {m['val_acc']:.3f}  target {m['target_acc']:.3f}  "
                    f"{m['images_per_s']:,.0f} img/s{extra}")
            (self.bar.write(line, file=self.stream) if self.bar else print(line, file=self.stream))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
