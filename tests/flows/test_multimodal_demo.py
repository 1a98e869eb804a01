"""The five-modality demo end to end (issue 26): photo + note + numbers + a category + a sound clip + a
vibration series, three heads, through the flow `braid run` calls (real Prefect, MLflow and Great
Expectations), then the champion served by `braid serve` scoring raw rows whose clips are data URIs and
whose series are JSON arrays."""

import base64
import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from components.data.demo_multimodal import write_multimodal_demo_data
from components.data.records import make_dataset
from components.layout import Layout
from flows.training import training_pipeline
from tests.braid_serve import served

pytestmark = pytest.mark.e2e  # a whole training_pipeline run and a server: minutes

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HEADS = {"fault": "accuracy", "wear": "mae", "flags": "micro_f1"}
FEATURES = ("photo", "note", "age_years", "weight_kg", "material", "sound", "vibration")


@pytest.fixture(scope="module")
def demo(module_store):
    """120 rows of the multimodal demo, the bundled contract pointed at them, one trial of two epochs."""
    root, env = module_store
    home = root / "home"
    env.setenv("BRAID_HOME", str(home))
    csv_path = write_multimodal_demo_data(root / "data", n_rows=120, seed=1)
    raw = yaml.safe_load((PROJECT_ROOT / "data_contracts" / "demo_multimodal.yaml").read_text())
    raw["source"] = {"path": str(csv_path), "format": "csv", "image_root": str(root / "data" / "media")}
    # The gate's trivial-baseline rule has its own tests (tests/flows/test_gate.py); here the first version
    # becomes champion whatever a 2-epoch model scores, so that it can be served.
    raw["training"] = {
        "max_trials": 1,
        "epochs": 2,
        "refit": False,
        "ensemble_size": 1,
        "require_beating_trivial": False,
    }
    contract = root / "demo_multimodal.yaml"
    contract.write_text(yaml.safe_dump(raw, sort_keys=False))
    return training_pipeline(contract=str(contract), home=str(home)), contract, home


def test_every_step_ran_and_left_its_record(demo):
    result, _, home = demo
    validation = result["validation"]
    assert validation["n_rows"] == validation["n_used"] == 120
    assert Path(validation["results_path"]).is_file() and Path(validation["data_docs_index"]).is_file()

    x, y = next(iter(make_dataset(result["prepared"]["directory"], "train", batch_size=4)))
    assert {"photo", "note", "sound", "vibration"} <= set(x), sorted(x)
    assert x["sound"].shape == (4, 4000) and x["vibration"].shape[1:] == (48, 3) and x["photo"].shape[1:3] == (16, 16)
    assert set(y) == set(HEADS)

    board = result["trained"]["leaderboard"]
    assert board and all(np.isfinite(board[0][f"val/{head}_loss"]) for head in HEADS)

    parent = MlflowClient(Layout(home).mlflow_uri).get_run(result["run"]["run_id"])
    assert parent.info.status == "FINISHED"
    for head, metric in HEADS.items():
        assert f"test/{head}/{metric}" in parent.data.metrics and f"baseline/{head}/{metric}" in parent.data.metrics
    for modality in ("audio", "timeseries", "image", "text"):
        assert f"contribution/{modality}/combined_score" in parent.data.metrics, sorted(parent.data.metrics)

    html = Path(result["report"]).read_text(encoding="utf-8")
    assert all(head in html for head in HEADS) and 'src="http' not in html


def test_every_head_is_compared_with_trivial_and_the_registered_version_is_champion(demo):
    result, _, home = demo
    beats = result["evaluated"]["beats_trivial"]
    # 84 training rows and one short trial: only the regression head (age and material alone explain much of
    # it) beats its trivial baseline every time; the 300-row `braid demo --contract multimodal` beats all three.
    assert set(beats) == set(HEADS) and beats["wear"], result["evaluated"]["table_markdown"]
    decision = result["decision"]
    assert decision["promoted"], decision["reason"]
    client = MlflowClient(Layout(home).mlflow_uri)
    for alias in ("champion", "challenger"):
        assert (
            str(client.get_model_version_by_alias(decision["registered_model"], alias).version) == decision["version"]
        )


def test_braid_serve_scores_raw_rows_with_audio_as_bytes_and_refuses_a_bad_clip(demo, tmp_path):
    _, contract, home = demo
    source = yaml.safe_load(contract.read_text())["source"]
    rows = pd.read_csv(source["path"]).head(3).drop(columns=list(HEADS))
    rows["sound"] = [
        "data:audio/wav;base64," + base64.b64encode((Path(source["image_root"]) / clip).read_bytes()).decode()
        for clip in rows["sound"]
    ]
    rows["vibration"] = [json.loads(cell) for cell in rows["vibration"]]  # JSON arrays, not strings
    with served(contract, home, tmp_path / "serve.log") as port:
        response = httpx.post(f"http://127.0.0.1:{port}/invocations", json=_payload(rows), timeout=120)
        assert response.status_code == 200, response.text[:2000]
        out = pd.DataFrame(response.json()["predictions"])
        assert len(out) == 3 and set(out["fault"]) <= {"bearing", "failing", "healthy", "imbalance"}
        assert np.isfinite(out["wear"]).all() and all(isinstance(v, str) for v in out["flags"])

        rows.loc[1, "sound"] = "data:audio/wav;base64," + base64.b64encode(b"not a sound").decode()
        refused = httpx.post(f"http://127.0.0.1:{port}/invocations", json=_payload(rows), timeout=120)
        assert refused.status_code == 400 and "stack_trace" not in refused.json(), refused.text[:2000]
        assert f"row 1 (id '{rows['id'].iloc[1]}'), column 'sound'" in refused.json()["message"]


def _payload(rows: pd.DataFrame) -> dict:
    return {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
