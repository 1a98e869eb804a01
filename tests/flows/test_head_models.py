"""Per head, the network, the classical model or their blend: the choice is recorded per head, and the
registered pyfunc serves the blend from raw rows in a fresh process."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from components.automl.export import load_model
from components.data import records
from components.data.contract import load_contract
from components.evaluation.classical import load_classical
from components.layout import Layout
from components.pipeline.assess import served_blend, serving_config
from components.pipeline.results import Trained
from components.serving import predict_frame
from flows.training import training_pipeline

pytestmark = pytest.mark.slow

HEADS = {"kind", "score", "tags"}


@pytest.fixture(scope="module")
def blended(module_store, demo_contract_factory):
    """One tiny run whose contract asks every head to be served as a blend."""
    root, env = module_store
    home = root / "home"
    env.setenv("BRAID_HOME", str(home))
    path = demo_contract_factory(root, rows=120, image_size=8, refit=False)
    raw = yaml.safe_load(path.read_text())
    raw["training"]["head_models"] = "blend"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    result = training_pipeline(contract=str(path), max_trials=1, epochs=1, seed=0, home=str(home))
    return home, path, result


def test_each_heads_choice_and_its_validation_figures_are_recorded(blended):
    home, _, result = blended
    choices = result["trained"]["head_models"]
    assert set(choices) == HEADS
    for choice in choices.values():
        assert choice["choice"] == "blend" and 0 < choice["network_weight"] < 1
        figures = choice["validation"]
        assert figures["blend_loss"] <= min(figures["network_loss"], figures["classical_loss"]) + 1e-9 or (
            figures["blend_network_weight"] == choice["network_weight"]
        )
    run = MlflowClient(Layout(home).mlflow_uri).get_run(result["run"]["run_id"])
    for head in HEADS:
        assert run.data.tags[f"braid.head_model.{head}"].startswith("blend (")
        assert run.data.params["head_models"] == "blend"
        assert {f"head_model/{head}/network_loss", f"head_model/{head}/classical_loss"} <= set(run.data.metrics)
    # the test metrics are the served blend's; the network alone is logged beside them
    assert "test/kind/accuracy" in run.data.metrics and "network/kind/accuracy" in run.data.metrics
    assert "Served per head" in result["evaluated"]["table_markdown"]
    # the evaluation's classical baselines are the head choice's train-only models, saved, not fitted twice
    baselines = load_classical(result["trained"]["classical_path"])
    assert set(baselines) == {"kind", "score"}  # tags (multi-label) fits its own, threshold and all
    assert {"classical/kind/accuracy", "classical/score/mae", "classical/tags/micro_f1"} <= set(run.data.metrics)


def test_the_registered_pyfunc_serves_the_blend_from_raw_rows_in_a_fresh_process(blended, tmp_path):
    home, path, result = blended
    contract = load_contract(path)
    rows = pd.read_csv(contract.source.path).head(9).drop(columns=["kind", "score", "tags"])
    rows.to_csv(tmp_path / "rows.csv", index=False)
    script = (
        "import sys, json, mlflow, pandas as pd;"
        "m = mlflow.pyfunc.load_model(sys.argv[1]);"
        "out = m.predict(pd.read_csv(sys.argv[2]));"
        "print(json.dumps({'kind': out['kind__proba'].tolist(), 'score': out['score'].tolist()}))"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": Layout(home).mlflow_uri}
    done = subprocess.run(
        [sys.executable, "-c", script, result["decision"]["model_uri"], str(tmp_path / "rows.csv")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    served = json.loads(done.stdout.strip().splitlines()[-1])

    trained = Trained.from_dict(result["trained"])
    state = records.load_state(result["prepared"]["directory"])
    model = load_model(trained.model_path)
    config = serving_config(contract, state, trained.thresholds)
    blend = predict_frame(model, state, config, rows, blend=served_blend(trained))
    alone = predict_frame(model, state, config, rows)
    assert np.allclose(served["kind"], blend["kind__proba"].tolist(), atol=1e-5)
    assert np.allclose(served["score"], blend["score"], atol=1e-4)
    assert not np.allclose(served["score"], alone["score"], atol=1e-4), "the classical model takes part"
