"""Step 2b, drift: every run keeps a profile of its training rows on its MLflow run; with a champion, the
rows are compared with the champion's profile, and over a threshold the run warns or stops as the
contract says. Rows to score are compared the same way, and only warn."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from components.data import records
from components.data.contract import Drift
from components.errors import DriftError
from components.pipeline.drift import PROFILE, check_drift, check_rows
from components.pipeline.rows import holdout_rows
from components.pipeline.runs import close_tracking_run
from tests.components.pipeline.support import crown, open_run


@pytest.fixture
def champion(tiny_demo, layout):
    """A first night: its profile checked against nothing, kept, and its run made the champion."""
    contract, validated, prepared = tiny_demo
    run = open_run(contract, layout, validated, prepared)
    first = check_drift(contract, layout, run, prepared)
    close_tracking_run(str(layout.home), run)
    crown(contract, layout, run.run_id)
    return run, first


def _moved(contract, folder: Path, **update):
    """The contract over a copy of its data whose first numerical feature moved far from the champion's."""
    rows = pd.read_csv(contract.source.path)
    number = next(f.name for f in contract.features if f.modality == "numerical")
    rows[number] = rows[number] * 5 + 100
    rows.to_csv(folder / "moved.csv", index=False)
    source = contract.source.model_copy(update={"path": folder / "moved.csv"})
    return contract.model_copy(update={"source": source, **update}), number


def test_the_first_run_keeps_its_profile_for_the_next_and_checks_nothing(tiny_demo, layout, champion):
    contract = tiny_demo[0]
    run, first = champion
    assert first.checked is False and first.drifted == [] and "no champion" in first.markdown
    client = MlflowClient(layout.mlflow_uri)
    assert [a.path for a in client.list_artifacts(run.run_id, "profile")] == [PROFILE]
    kept = json.loads((Path(run.search_dir) / PROFILE).read_text())
    assert set(kept["columns"]) >= {f.name for f in contract.features} | {t.name for t in contract.targets}


def test_the_same_rows_again_do_not_drift(tiny_demo, layout, champion):
    contract, validated, prepared = tiny_demo
    tonight = open_run(contract, layout, validated, prepared, seed=1)
    drifted = check_drift(contract, layout, tonight, prepared)
    assert drifted.checked and drifted.drifted == [] and drifted.reference_run == champion[0].run_id
    client = MlflowClient(layout.mlflow_uri)
    assert client.get_run(tonight.run_id).data.tags["braid.drift"] == "none"
    assert [a.path for a in client.list_artifacts(tonight.run_id, "drift")] == ["drift/drift.md"]


def test_moved_rows_stop_the_run_when_the_contract_says_so_and_warn_otherwise(tiny_demo, layout, champion, tmp_path):
    contract, validated, prepared = tiny_demo
    stopping, number = _moved(contract, tmp_path, drift=Drift(on_drift="stop"))
    tonight = open_run(contract, layout, validated, prepared, seed=2)
    with pytest.raises(DriftError, match=rf"drifted from the champion's \(run {champion[0].run_id}\) on .*{number}"):
        check_drift(stopping, layout, tonight, prepared)
    logged = MlflowClient(layout.mlflow_uri).get_run(tonight.run_id).data
    assert number in logged.tags["braid.drift"] and np.isfinite(logged.metrics[f"drift/{number}/psi"])
    warning, _ = _moved(contract, tmp_path)
    warned = check_drift(warning, layout, open_run(contract, layout, validated, prepared, seed=3), prepared)
    assert warned.checked and any(d.startswith(f"{number} ") for d in warned.drifted)


def test_rows_to_score_are_compared_on_their_features_only(tiny_demo, layout, champion, tmp_path):
    contract, _, prepared = tiny_demo
    stopping, number = _moved(contract, tmp_path, drift=Drift(on_drift="stop"))
    train = records.split_ids(prepared.directory, "train")  # the rows the champion's profile describes
    targets = [t.name for t in contract.targets]
    same = check_rows(contract, layout, holdout_rows(contract, train).drop(columns=targets))
    assert same.checked and same.drifted == [] and same.reference_run == champion[0].run_id
    moved = check_rows(stopping, layout, holdout_rows(stopping, train).drop(columns=targets))
    assert moved.checked and moved.drifted, "scoring warns, whatever the contract says"
    assert all(d.startswith(f"{number} ") for d in moved.drifted), moved.drifted
