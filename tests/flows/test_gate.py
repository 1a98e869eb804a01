"""The gate end to end: a model no better than the trivial baseline on one head is registered, never champion."""

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from components.layout import Layout
from flows.training import training_pipeline

# A whole run: `make test-e2e`. The gate's every branch, fast: tests/components/pipeline/test_gate.py.
pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_a_head_no_better_than_trivial_keeps_the_first_version_from_champion(module_store, demo_contract_factory):
    root, env = module_store
    home = root / "home"
    env.setenv("BRAID_HOME", str(home))
    path = demo_contract_factory(root, rows=120, image_size=8, refit=False, require_beating_trivial=True)
    raw = yaml.safe_load(path.read_text())
    data = pd.read_csv(raw["source"]["path"])
    # the training median (the trivial baseline) is exact on all rows but two: a model's errors on the
    # other rows already cost it more than the baseline loses on those two
    data["score"] = 5.0
    data.loc[:1, "score"] = 6.0
    data.to_csv(raw["source"]["path"], index=False)
    result = training_pipeline(contract=str(path), max_trials=1, epochs=1, seed=0, home=str(home))
    decision = result["decision"]
    assert decision["version"] == "1" and not decision["promoted"]
    assert "score did not beat the trivial baseline" in decision["reason"]
    client = MlflowClient(Layout(home).mlflow_uri)
    version = client.get_model_version(decision["registered_model"], "1")
    assert "challenger" in version.aliases and "champion" not in version.aliases
    tags = client.get_run(result["run"]["run_id"]).data.tags
    assert tags["braid.beats_trivial"] == "False" and tags["braid.promoted"] == "False"
    assert "Beats the trivial baseline: " in result["evaluated"]["table_markdown"]
