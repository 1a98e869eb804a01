"""An interrupted search (SIGKILL mid-way) resumes with overwrite=False: finished trials are kept, not repeated."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import components as ak

ROOT = Path(__file__).resolve().parents[3]

SEARCH = textwrap.dedent(
    """
    import sys, numpy as np
    sys.path.insert(0, {root!r})
    import components as ak
    import time

    class Stall:
        # Holds the second trial open so the kill lands inside it.
        def on_trial_begin(self, trial_id, hyperparameters):
            if trial_id == "1":
                time.sleep(120)

    rng = np.random.default_rng(0)
    x = rng.random((48, 5)).astype("float32")
    auto_model = ak.AutoModel(
        inputs=ak.StructuredDataInput(name="table"),
        outputs=[ak.RegressionHead(name="value"), ak.ClassificationHead(name="flag")],
        max_trials=3, tuner="random", seed=0, directory={directory!r}, project_name="resume", overwrite=True,
        observers=[Stall()])
    auto_model.fit(x, [x[:, :1], (x[:, 1] > 0.5).astype(int)], epochs=1, verbose=0)
    """
)


class Begun:
    def __init__(self):
        self.trial_ids = []

    def on_trial_begin(self, trial_id, hyperparameters):
        self.trial_ids.append(trial_id)


@pytest.mark.slow
@pytest.mark.e2e  # a killed process; resuming in process: test_reproducibility.py
def test_resume_after_sigkill_neither_repeats_nor_loses_trials(tmp_path):
    project = tmp_path / "resume"
    script = SEARCH.format(root=str(ROOT), directory=str(tmp_path))
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 240
        # trial_1/trial.json appears once trial 0 has ended and been saved and trial 1 has started.
        while not (project / "trial_1" / "trial.json").exists():
            assert process.poll() is None, "the search process died before the first trial finished"
            assert time.time() < deadline, "the first trial did not finish in time"
            time.sleep(0.2)
        time.sleep(0.5)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    first = json.loads((project / "trial_0" / "trial.json").read_text())
    assert first["status"] == "COMPLETED"
    first_mtime = (project / "trial_0" / "trial.json").stat().st_mtime_ns

    rng = np.random.default_rng(0)
    x = rng.random((48, 5)).astype("float32")
    begun = Begun()
    auto_model = ak.AutoModel(
        inputs=ak.StructuredDataInput(name="table"),
        outputs=[ak.RegressionHead(name="value"), ak.ClassificationHead(name="flag")],
        max_trials=3,
        tuner="random",
        seed=0,
        directory=tmp_path,
        project_name="resume",
        overwrite=False,
        observers=[begun],
    )
    auto_model.fit(x, [x[:, :1], (x[:, 1] > 0.5).astype(int)], epochs=1, verbose=0)
    board = auto_model.leaderboard()
    assert sorted(r["trial_id"] for r in board) == ["0", "1", "2"]
    assert all(r["status"] == "COMPLETED" for r in board)
    assert "0" not in begun.trial_ids and sorted(begun.trial_ids) == ["1", "2"]
    assert (project / "trial_0" / "trial.json").stat().st_mtime_ns == first_mtime
    assert next(r for r in board if r["trial_id"] == "0")["score"] == pytest.approx(first["score"])
