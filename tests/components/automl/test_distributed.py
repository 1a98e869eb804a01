"""A search shared by worker processes (keras-tuner chief/worker over gRPC), one of them killed."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from components.automl.tuners.distributed import CHIEF, acting_as, environment, role
from components.errors import InputError
from components.pipeline.search_workers import LocalWorkers, placements
from components.ports import free_port
from tests.components.automl import distributed_worker as side

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def test_two_workers_share_the_search_and_a_killed_worker_costs_only_its_trial(tmp_path):
    port = free_port()
    processes, logs = {}, {}
    for tuner_id in side.WORKERS:
        env = {**os.environ, **environment(tuner_id, "127.0.0.1", port), "CUDA_VISIBLE_DEVICES": ""}
        env["DIE_AT_EPOCH_END"] = "1" if tuner_id == "worker1" else "0"
        logs[tuner_id] = (tmp_path / f"{tuner_id}.log").open("w")
        processes[tuner_id] = subprocess.Popen(
            [sys.executable, side.__file__, str(tmp_path)],
            cwd=ROOT,
            env=env,
            stdout=logs[tuner_id],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    workers = LocalWorkers(processes)
    try:
        with acting_as(CHIEF, "127.0.0.1", port):
            assert role() == CHIEF
            auto_model = side.automodel(tmp_path, workers=workers)
            x, y = side.data()
            auto_model.fit(x, y, epochs=2, verbose=0)
        assert role() is None
    finally:
        workers.stop()
    ran = {w: (tmp_path / f"{w}.trials").read_text().split() for w in side.WORKERS}
    assert len(ran["worker1"]) == 1 and len(ran["worker0"]) == 2, ran
    assert workers.exited()["worker1"] == -9 and workers.exited()["worker0"] == 0
    board = {row["trial_id"]: row for row in auto_model.leaderboard()}
    assert len(board) == 3
    killed = ran["worker1"][0]
    assert board[killed]["status"] == "FAILED"
    assert "worker1 was killed" in auto_model.tuner.oracle.trials[killed].message
    assert auto_model.tuner.failed_by_workers == [killed]
    assert all(board[t]["status"] == "COMPLETED" and board[t]["score"] is not None for t in ran["worker0"])
    histories = auto_model.trial_histories()  # the workers' epochs reached the chief's oracle
    assert all(len(histories[t]["val_combined_loss"]) == 2 for t in ran["worker0"]), histories
    value, flag = auto_model.predict(x)  # the chief loaded the workers' checkpoints and refit them
    assert value.shape == (len(x), 1) and set(np.unique(flag)) <= {0, 1}


def test_worker_ids_and_placements():
    with pytest.raises(InputError, match="chief"):
        environment("my-chief-2", "127.0.0.1", 1)
    assert placements(2, gpus=0, cores=[0, 1]) == [{"gpu": None, "cores": [0]}, {"gpu": None, "cores": [1]}]
    assert placements(3, gpus=2, cores=[0, 1]) == [
        {"gpu": 0, "cores": None},
        {"gpu": 1, "cores": None},
        {"gpu": 0, "cores": None},
    ]
    assert placements(4, gpus=0, cores=[0, 1]) == [{"gpu": None, "cores": [c]} for c in (0, 1, 0, 1)]
