"""The accelerator path, proven on a CPU: `braid run` with the CPU split into two logical devices
(`BRAID_CPU_LOGICAL_DEVICES=2`), `training.distribution: mirrored` and `training.mixed_precision:
bfloat16`; the champion then serves in this process, which never trained (float32 global policy)."""

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from components import serving
from components.data.contract import load_contract
from components.data.preprocess import transform_frame
from components.layout import Layout
from tests.flows.conftest import run_on_demo

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture(scope="module")
def mirrored_run(module_store):
    """One trial of one epoch (and its refit) under MirroredStrategy over two logical CPUs in bfloat16."""
    folder, _ = module_store
    # The network serves every head, so serving below runs the bfloat16 model (not a classical one).
    training = dict(distribution="mirrored", mixed_precision="bfloat16", head_models="network")
    args = ("--max-trials", "1", "--epochs", "1", "--seed", "0")
    path = run_on_demo(folder, "devices", training, *args, env={"BRAID_CPU_LOGICAL_DEVICES": "2"})
    return path, Layout(folder / "home")


def _parent(layout: Layout):
    client = MlflowClient(layout.mlflow_uri)
    experiment = client.get_experiment_by_name("braid-devices")
    [parent] = [r for r in client.search_runs([experiment.experiment_id]) if "mlflow.parentRunId" not in r.data.tags]
    return parent


def test_the_trial_trained_on_two_replicas_in_bfloat16_and_the_model_became_champion(mirrored_run):
    _, layout = mirrored_run
    parent = _parent(layout)
    params = parent.data.params
    assert (params["distribution"], params["mixed_precision"]) == ("mirrored", "bfloat16"), "what was asked"
    assert params["replicas"] == "2", "what the trial's model trained under: MirroredStrategy on /cpu:0 and /cpu:1"
    assert params["precision_policy"] == "mixed_bfloat16"
    assert parent.data.metrics["search/trials_completed"] == 1
    assert np.isfinite(parent.data.metrics["test/combined_score"])
    champion = MlflowClient(layout.mlflow_uri).get_model_version_by_alias("braid-devices", "champion")
    assert champion.run_id == parent.info.run_id


def test_the_champion_serves_in_bfloat16_with_float32_outputs(mirrored_run):
    path, layout = mirrored_run
    contract = load_contract(path)
    mlflow.set_tracking_uri(layout.mlflow_uri)
    pyfunc = mlflow.pyfunc.load_model("models:/braid-devices@champion")
    rows = pd.read_csv(contract.source.path).head(5).drop(columns=["kind", "score", "tags"])
    out = pyfunc.predict(rows)
    assert len(out) == 5 and np.isfinite(out["score"]).all()
    assert np.allclose([sum(p) for p in out["kind__proba"]], 1.0, atol=1e-3)
    # The serving path's raw outputs, from the model the pyfunc loaded: computed in bfloat16, float32 out.
    braid = pyfunc.unwrap_python_model()
    policies = {layer.dtype_policy.name for layer in braid.model.layers}
    assert "mixed_bfloat16" in policies
    x = transform_frame(braid.state, rows, contract.source.image_base)
    raw = serving.predict_outputs(braid.model, serving.model_inputs(braid.model, x), len(rows))
    assert {name: out.dtype for name, out in raw.items()} == {name: np.float32 for name in ("kind", "score", "tags")}
