"""Progress of long work (validation, preprocessing, the search), for whoever shows it.

The library reports; it never draws. `braid run` listens and draws a rich progress bar with the time
remaining; a Prefect flow run, a test or a notebook may listen too, or not at all (then reporting
costs a function call). Each report names its stage and, when known, how far it is.

Example:
    >>> with listen(print):
    ...     report("search", 1, 3, "trial 1 done")
    Progress(stage='search', done=1, total=3, detail='trial 1 done')
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """One step forward: `done` of `total` units of `stage` (rows, trials); None when not countable.

    `milestone` marks a report worth a line of its own in a plain log (a trial's end), where a
    display without a terminal shows only milestones and each stage's first report.
    """

    stage: str
    done: float | None = None
    total: float | None = None
    detail: str = ""
    milestone: bool = False


_listeners: list[Callable[[Progress], Any]] = []
_lock = threading.Lock()


@contextlib.contextmanager
def listen(listener: Callable[[Progress], Any]) -> Iterator[None]:
    """Call `listener` with every `Progress` reported inside the block (from any thread)."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def report(
    stage: str, done: float | None = None, total: float | None = None, detail: str = "", milestone: bool = False
) -> None:
    """Tell the listeners; a listener that fails is dropped from this report, never the work."""
    if not _listeners:
        return
    event = Progress(stage, done, total, detail, milestone)
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        with contextlib.suppress(Exception):
            listener(event)


class SearchProgress:
    """A search observer (`AutoModel(observers=[...])`) that reports trials and epochs as they end.

    Progress is counted in epochs, `max_trials * epochs` in all, so the time remaining moves with each
    epoch; a trial that stops early jumps to its end. A trial's end is a milestone: "trial 2/3
    completed: val_combined_loss 0.8123 (41.2 s)", naming `objective` (the search's objective metric).
    """

    def __init__(self, max_trials: int, epochs: int, objective: str | None = None):
        self.max_trials, self.epochs, self.trials_done, self.epoch = max_trials, epochs, 0, 0
        self.total = max_trials * epochs
        self.objective = objective

    def on_trial_begin(self, trial_id: str, hyperparameters: dict) -> None:
        self.epoch = 0
        report("search", self.trials_done * self.epochs, self.total, f"trial {self.trials_done + 1}/{self.max_trials}")

    def on_epoch_end(self, trial_id: str, epoch: int, logs: dict) -> None:
        self.epoch = epoch + 1
        report(
            "search",
            self.trials_done * self.epochs + min(self.epoch, self.epochs),
            self.total,
            f"trial {self.trials_done + 1}/{self.max_trials}, epoch {self.epoch}/{self.epochs}",
        )

    def on_trial_end(
        self,
        trial_id: str,
        status: str,
        metrics: dict | None = None,
        error: str | None = None,
        model_size: int | None = None,
        duration_s: float | None = None,
    ) -> None:
        self.trials_done += 1
        value = (metrics or {}).get(self.objective) if self.objective else None
        outcome = f"{self.objective} {value:.4f}" if value is not None else (error or "").split("\n")[0][:200]
        seconds = f" ({duration_s:.1f} s)" if duration_s is not None else ""
        report(
            "search",
            self.trials_done * self.epochs,
            self.total,
            f"trial {self.trials_done}/{self.max_trials} {status.lower()}"
            + (f": {outcome}" if outcome else "")
            + seconds,
            milestone=True,
        )
