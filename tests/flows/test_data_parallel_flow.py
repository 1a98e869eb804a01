"""`braid run` with `training.data_parallel_workers: 2`: the search's trial trains in the pipeline's
process, its refit on two MultiWorkerMirroredStrategy worker processes on 127.0.0.1, and the final model
is the chief's weights."""

import json

import h5py
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from components.layout import Layout
from tests.flows.conftest import run_on_demo

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def _arrays(path):
    found = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(lambda name, item: found.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return found


def test_the_refit_runs_on_two_workers_in_step_and_becomes_the_model(tmp_path):
    training = dict(data_parallel_workers=2, head_models="network")
    run_on_demo(tmp_path, "dataparallel", training, "--max-trials", "1", "--epochs", "2", "--seed", "0")
    [chief_result] = (tmp_path / "home").rglob("data_parallel/dp-worker0/refit.json")
    folder = chief_result.parent.parent
    chief, other = (json.loads((folder / f"dp-worker{i}" / "refit.json").read_text()) for i in range(2))
    assert chief.keys() == other.keys() and len(chief) == 1, "the one picked trial, refitted by both workers"
    [trial] = chief
    assert chief[trial]["history"] == other[trial]["history"], "one training, seen from both workers"
    first, second = _arrays(chief[trial]["weights"]), _arrays(other[trial]["weights"])
    assert first.keys() == second.keys() and first
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    placed = json.loads((folder / "workers.json").read_text())
    assert [p["address"].split(":")[0] for p in placed.values()] == ["127.0.0.1"] * 2
    client = MlflowClient(Layout(tmp_path / "home").mlflow_uri)
    experiment = client.get_experiment_by_name("braid-dataparallel")
    [parent] = [r for r in client.search_runs([experiment.experiment_id]) if "mlflow.parentRunId" not in r.data.tags]
    assert parent.data.params["data_parallel_workers"] == "2"
    assert np.isfinite(parent.data.metrics["test/combined_score"])
