"""A target with a rare class, through `braid run`'s flow: its binary threshold is tuned on validation
rows, the registered pyfunc answers with it, and the evaluation ranks the head by macro-F1 with
per-class figures."""

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from components.layout import Layout
from flows.training import training_pipeline

pytestmark = pytest.mark.slow

CONTRACT = {
    "name": "rare",
    "id_column": "id",
    "features": [{"name": "a", "modality": "numerical"}, {"name": "b", "modality": "numerical"}],
    "targets": [{"name": "cancelled", "task": "classification"}],
    "training": {"max_trials": 1, "epochs": 4, "ensemble_size": 1, "refit": False},
}


def test_a_rare_class_gets_a_tuned_threshold_served_by_the_pyfunc_and_macro_f1(module_store):
    root, env = module_store
    home = root / "home"
    env.setenv("BRAID_HOME", str(home))
    rng = np.random.default_rng(0)
    rows = 1000
    frame = pd.DataFrame({"id": np.arange(rows), "a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    score = 2.5 * frame["a"] + rng.normal(scale=0.7, size=rows)
    frame["cancelled"] = np.where(score > np.quantile(score, 0.96), "yes", "no")  # 4% yes
    frame.to_csv(root / "rare.csv", index=False)
    path = root / "rare.yaml"
    path.write_text(yaml.safe_dump({**CONTRACT, "source": {"path": str(root / "rare.csv")}}, sort_keys=False))

    result = training_pipeline(contract=str(path), home=str(home))

    (threshold,) = result["trained"]["thresholds"]["cancelled"]
    assert 0 < threshold < 0.5  # a rare "yes" needs less than even odds
    table = result["evaluated"]["table_markdown"]
    assert "Primary metric per head: cancelled macro_f1" in table and "Per class, cancelled:" in table
    metrics = result["evaluated"]["metrics"]
    assert metrics["test/cancelled/macro_f1"] > metrics["baseline/cancelled/macro_f1"] + 0.2
    mlflow.set_tracking_uri(Layout(home).mlflow_uri)
    model = mlflow.pyfunc.load_model(result["decision"]["model_uri"])
    served = model.predict(frame[["id", "a", "b"]])
    yes = np.asarray([p[1] for p in served["cancelled__proba"]])
    assert (served["cancelled"] == "yes").tolist() == (yes >= threshold).tolist()
    assert (served["cancelled"] == "yes").any()
