"""A timeseries contract end to end: series given as JSON arrays in a CSV train through `braid run`'s
flow, and the served model scores raw rows whose series are JSON arrays."""

import json

import mlflow
import numpy as np
import pandas as pd
import pytest

from components.layout import Layout
from flows.training import training_pipeline

pytestmark = pytest.mark.slow

CONTRACT = """\
name: sensors
source:
  path: {path}
id_column: id
features:
  - name: accel
    modality: timeseries
    max_length: 32
    channels: 2
targets:
  - name: speed
    task: classification
training: {{max_trials: 1, epochs: 2, refit: false, ensemble_size: 1, require_beating_trivial: false}}
"""


def sensor_rows(rows: int) -> pd.DataFrame:
    """Two channels, 12 to 40 steps (cropped at 32), a few values missing; the class is the frequency."""
    rng = np.random.default_rng(0)
    cells, labels = [], []
    for i in range(rows):
        steps, fast = int(rng.integers(12, 41)), i % 2
        t = np.arange(steps)
        series = np.stack([np.sin(t * (0.3 + 0.9 * fast)), 5 + np.cos(t * 0.2)], axis=1).round(3).tolist()
        series[int(rng.integers(steps))][0] = None
        cells.append(json.dumps(series))
        labels.append(["slow", "fast"][fast])
    return pd.DataFrame({"id": [f"s{i}" for i in range(rows)], "accel": cells, "speed": labels})


def test_a_timeseries_contract_trains_and_serves_json_arrays(module_store):
    root, env = module_store
    home = root / "home"
    env.setenv("BRAID_HOME", str(home))
    frame = sensor_rows(60)
    frame.to_csv(root / "sensors.csv", index=False)
    path = root / "sensors.yaml"
    path.write_text(CONTRACT.format(path=root / "sensors.csv"))

    result = training_pipeline(contract=str(path), home=str(home))

    assert result["trained"]["leaderboard"] and np.isfinite(result["trained"]["leaderboard"][0]["val/speed_loss"])
    assert "test/speed/accuracy" in result["evaluated"]["metrics"]
    mlflow.set_tracking_uri(Layout(home).mlflow_uri)
    model = mlflow.pyfunc.load_model(result["decision"]["model_uri"])
    rows = frame.head(5).drop(columns=["speed"])
    rows.loc[4, "accel"] = None  # a row without its series still scores (every step masked)
    out = model.predict(rows)
    assert len(out) == 5 and set(out["speed"]) <= {"slow", "fast"}
    assert np.allclose([sum(p) for p in out["speed__proba"]], 1.0, atol=1e-4)
