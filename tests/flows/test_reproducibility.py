"""Same seed, same search: two pipeline runs with one seed log the same trials and the same test metrics."""

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from components.layout import Layout
from flows.training import training_pipeline

pytestmark = pytest.mark.slow


def _trials(home: Path, run_id: str) -> list[dict]:
    client = MlflowClient(Layout(home).mlflow_uri)
    parent = client.get_run(run_id)
    children = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.`mlflow.parentRunId` = '{run_id}'")
    return sorted(({"trial": c.data.tags["braid.trial_id"], "params": c.data.params,
                    "val_loss": round(c.data.metrics["val_loss"], 5)} for c in children),
                  key=lambda t: t["trial"])


def test_two_runs_with_the_same_seed_log_the_same_trials_and_metrics(tmp_path, demo_contract_factory, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    contract = demo_contract_factory(tmp_path, rows=120, image_size=8)
    summaries = {}
    for name in ("first", "second"):
        home = tmp_path / name
        summaries[name] = (home, training_pipeline(contract=str(contract), max_trials=2, epochs=1, tuner="random",
                                                   seed=3, home=str(home)))
    (home_a, a), (home_b, b) = summaries["first"], summaries["second"]
    assert _trials(home_a, a["run"]["run_id"]) == _trials(home_b, b["run"]["run_id"])
    assert a["trained"]["best_hyperparameters"] == b["trained"]["best_hyperparameters"]
    for key, value in a["evaluated"]["metrics"].items():
        assert b["evaluated"]["metrics"][key] == pytest.approx(value, abs=1e-5), key
