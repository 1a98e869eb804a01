"""Data-parallel training of one model by two MultiWorkerMirroredStrategy worker processes on 127.0.0.1
(`automl/multiworker.py`), started and watched the pipeline's way (`pipeline/data_parallel.py`)."""

import json
from pathlib import Path

import numpy as np
import pytest

from components.automl.multiworker import tf_config
from components.data.contract import Training
from components.errors import SearchError
from components.pipeline.data_parallel import addresses, wait
from components.pipeline.search_workers import LocalWorkers, placed_environment
from tests.conftest import PROJECT_ROOT


def _start(folder: Path, die: set[int] = frozenset()) -> LocalWorkers:
    cluster, workers = addresses(2), LocalWorkers()
    for index in range(2):
        env = {**placed_environment({"gpu": None, "cores": [0]}), "TF_CONFIG": tf_config(cluster, index)}
        env.update(PYTHONPATH=str(PROJECT_ROOT), DIE="1" if index in die else "0")
        env.pop("BRAID_CPU_LOGICAL_DEVICES", None)
        workers.start(f"dp-worker{index}", "tests.components.automl.multiworker_worker", folder, env, folder, {})
    return workers


@pytest.mark.slow
def test_two_workers_train_one_model_whose_weights_stay_identical(tmp_path):
    workers = _start(tmp_path)
    try:
        wait(workers, 300, tmp_path)
    finally:
        workers.stop()
    chief, other = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    assert int(chief["replicas"]) == 2, "one replica per worker process"
    weights = [k for k in chief.files if k.startswith("arr_")]
    assert len(weights) == 4
    for key in weights:  # all-reduced gradients: the same update in both processes, bit for bit
        np.testing.assert_array_equal(chief[key], other[key])
    np.testing.assert_array_equal(chief["loss"], other["loss"])
    assert chief["loss"][-1] < 0.5 * chief["loss"][0], f"the model learns: {chief['loss']}"


@pytest.mark.slow
def test_a_worker_that_dies_is_named_and_the_other_is_stopped(tmp_path):
    workers = _start(tmp_path, die={1})
    try:
        with pytest.raises(SearchError, match=r"dp-worker1 \(pid \d+\) exited with code 3: told to die"):
            wait(workers, 300, tmp_path)
    finally:
        workers.stop(grace_s=5)
    assert workers.processes["dp-worker0"].poll() is not None, "the worker left waiting for its peer is stopped"


def test_tf_config_names_the_cluster_and_this_worker():
    config = json.loads(tf_config(["127.0.0.1:1", "127.0.0.1:2"], 1))
    assert config == {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 1}}
    assert len(set(addresses(4))) == 4


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"data_parallel_workers": 2, "distribution": "mirrored"}, "choose one"),
        ({"data_parallel_workers": 2, "refit": False}, "refit: true"),
        ({"data_parallel_workers": 0}, "greater than or equal to 1"),
    ],
)
def test_data_parallel_workers_conflicts_are_named(settings, message):
    with pytest.raises(ValueError, match=message):
        Training(**settings)
    assert Training(data_parallel_workers=2, workers=2).data_parallel_workers == 2, "search workers, then the refit's"
