"""Preprocessing on a local Dask cluster of two worker processes (started and closed here) through Prefect's
Dask task runner gives the one-process output: the same state, the same (id → serialised Example) per split
in the same order, the same counts and the same data hash."""

import json
import os
from pathlib import Path

import pytest
from distributed import Client, LocalCluster, get_task_stream

from components.data.contract import Preprocess, load_contract
from components.data.parallel import shard_contents
from components.data.preprocess import preprocess
from components.data.records import split_ids
from components.data.sources import data_hash
from components.layout import Layout
from components.settings import Settings
from flows.preprocessing import dask_runner, on_dask, preprocess_on_dask
from tests.components.data.test_preprocess import demo_contract

# a cluster of worker processes, each importing TensorFlow: ~100 s; the parts-equal-whole logic itself is
# tested in process by tests/components/data/test_parallel.py (make test)
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as local, Client(local) as client:  # fmt: skip
        yield local, client


def test_two_dask_workers_write_the_one_process_shards(cluster, tmp_path: Path):
    local, client = cluster
    contract = demo_contract(tmp_path, n_rows=90)
    parallel = contract.model_copy(update={"preprocess": Preprocess(workers=2, part_rows=25)})
    assert data_hash(parallel) == data_hash(contract)  # how it is preprocessed is not the data
    digest = data_hash(contract)
    one = preprocess(contract, Layout(tmp_path / "one"), data_hash=digest)

    with get_task_stream(client) as stream:
        prepared = preprocess_on_dask(
            parallel, digest, str(tmp_path / "dask"), None, dask_runner(2, local.scheduler_address)
        )
    assert len(stream.data) == 2 * 4  # 90 rows in parts of 25: each part fitted and written on the cluster

    directory = Path(prepared.directory)
    assert not prepared.reused and prepared.rows == one.manifest.rows
    assert json.loads((directory / "state.json").read_text()) == json.loads((one.directory / "state.json").read_text())
    assert shard_contents(directory) == shard_contents(one.directory)
    for split in ("train", "val", "test"):
        assert split_ids(directory, split) == split_ids(one.directory, split)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["data_hash"] == one.manifest.data_hash and manifest["fingerprint"] == one.manifest.fingerprint
    assert {Path(s["path"]).name.split("-")[1] for s in manifest["shards"]} == {"p00000", "p00001", "p00002", "p00003"}


def test_the_dask_path_is_taken_when_asked():
    contract = load_contract(Path(__file__).resolve().parents[2] / "data_contracts" / "demo.yaml")
    asking = contract.model_copy(update={"preprocess": Preprocess(workers=3)})
    assert contract.preprocess.workers == 1 and on_dask(contract, Settings(braid_dask_address=None)) is None
    assert on_dask(asking, Settings(braid_dask_address=None)).cluster_kwargs["n_workers"] == 3
    assert on_dask(contract, Settings(braid_dask_address="tcp://10.0.0.5:8786")).address == "tcp://10.0.0.5:8786"


def test_a_local_cluster_leaves_the_flow_process_environment_as_it_was(tmp_path: Path, monkeypatch):
    """The nannies set their workers' limits (OMP_NUM_THREADS=1, ...) in this process to spawn them: the rest of
    a `braid run` after the preprocessing (scikit-learn's OpenMP, processes started later) must not get them."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    contract = demo_contract(tmp_path, n_rows=30)
    parallel = contract.model_copy(update={"preprocess": Preprocess(workers=2, part_rows=15)})
    runner = on_dask(parallel, Settings(braid_dask_address=None))  # a local cluster of its own, as in `braid run`
    prepared = preprocess_on_dask(parallel, data_hash(parallel), str(tmp_path / "home"), None, runner)
    assert sum(prepared.rows.values()) == 30
    assert "OMP_NUM_THREADS" not in os.environ and "MALLOC_TRIM_THRESHOLD_" not in os.environ
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2"
