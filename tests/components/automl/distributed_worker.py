"""One side of the distributed-search test (`test_distributed.py`): the same AutoModel for the chief
and the workers; run as a script, a worker (keras-tuner's variables come from the test).

Each worker notes its trials in `<folder>/<tuner id>.trials`, and waits at its first trial until
every worker has one, so each takes part; with `DIE_AT_EPOCH_END=1` it kills itself (SIGKILL) at
its first epoch end, in the middle of a trial."""

import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

import components as ak

WORKERS = ("worker0", "worker1")


def data(rows=96):
    rng = np.random.default_rng(0)
    x = rng.random((rows, 6)).astype("float32")
    return x, [x[:, :1] * 2 + rng.normal(0, 0.05, (rows, 1)), (x[:, 1] > 0.5).astype(int)]


def automodel(folder: Path, max_trials: int = 3, workers=None):
    return ak.AutoModel(
        inputs=ak.StructuredDataInput(name="table"),
        outputs=[ak.RegressionHead(name="value"), ak.ClassificationHead(name="flag")],
        max_trials=max_trials,
        tuner="random",
        seed=1,
        directory=folder,
        project_name="search",
        observers=[Notes(folder)],
        workers=workers,
    )


class Notes:
    def __init__(self, folder: Path):
        self.folder, self.me = folder, os.environ.get("KERASTUNER_TUNER_ID", "chief")
        self.waited = False

    def on_trial_begin(self, trial_id, hyperparameters):
        with (self.folder / f"{self.me}.trials").open("a") as notes:
            notes.write(f"{trial_id}\n")
        deadline = time.monotonic() + 300
        while not self.waited and time.monotonic() < deadline:
            if all((self.folder / f"{w}.trials").exists() for w in WORKERS):
                break
            time.sleep(0.2)
        self.waited = True

    def on_epoch_end(self, trial_id, epoch, logs):
        if os.environ.get("DIE_AT_EPOCH_END") == "1":
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    x, y = data()
    automodel(folder).fit(x, y, epochs=2, verbose=0)
