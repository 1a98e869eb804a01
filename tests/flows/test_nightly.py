"""Consecutive scheduled runs of one contract: the second starts from the first's best trials, every run
compares its training rows with the champion's, and drifted data stops a run whose contract says so."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from components import pipeline
from components.data.contract import load_contract
from components.errors import DriftError
from components.layout import Layout
from components.pipeline.warm import warm_start
from flows.training import training_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
# Two whole nights through the flow: `make test-e2e`. Each step alone, fast: tests/components/pipeline/
# (test_warm.py, test_drift.py, test_score.py).


@pytest.fixture(scope="module")
def nights(module_store, demo_contract_factory):
    root, _ = module_store
    path = demo_contract_factory(root, rows=120, image_size=16, name="nightly", refit=False)
    home = str(root / "home")
    first = training_pipeline(contract=str(path), max_trials=2, epochs=1, seed=0, home=home)
    second = training_pipeline(contract=str(path), max_trials=2, epochs=1, seed=1, home=home)
    return {
        "root": root,
        "contract": path,
        "home": home,
        "first": first,
        "second": second,
        "client": MlflowClient(Layout(Path(home)).mlflow_uri),
    }


def test_the_first_night_starts_cold_and_keeps_statistics_for_the_next(nights):
    first = nights["first"]
    assert first["drift"]["checked"] is False
    tags = nights["client"].get_run(first["run"]["run_id"]).data.tags
    assert tags["braid.warm_start"].startswith("cold: no earlier")
    artifacts = {a.path for a in nights["client"].list_artifacts(first["run"]["run_id"], "profile")}
    assert artifacts == {"profile/profile.json"}


def test_the_second_night_starts_from_the_champions_best_trial(nights):
    first, second = nights["first"], nights["second"]
    client = nights["client"]
    tags = client.get_run(second["run"]["run_id"]).data.tags
    assert tags["braid.warm_start"] == "warm: 1 configuration(s) from 1 earlier run(s) (the champion's first)"
    assert tags["braid.warm_start.sources"].split(",")[0] == first["run"]["run_id"]
    trials = client.search_runs(
        [second["run"]["experiment_id"]],
        filter_string=f"tags.`mlflow.parentRunId` = '{second['run']['run_id']}'",
        order_by=["attributes.start_time ASC"],
    )
    champion_best = {k: str(v) for k, v in first["trained"]["best_hyperparameters"].items() if v is not None}
    # every hyperparameter tonight's first trial used is the champion's (inactive ones are not logged)
    used = {k: v for k, v in trials[0].data.params.items() if k in champion_best}
    assert len(used) >= len(champion_best) / 2 and used == {k: champion_best[k] for k in used}
    assert second["drift"]["checked"] is True and second["drift"]["drifted"] == []
    assert "drift/drift.md" in {a.path for a in client.list_artifacts(second["run"]["run_id"], "drift")}


def test_a_changed_schema_starts_cold_and_says_why(nights, tmp_path):
    raw = yaml.safe_load(Path(nights["contract"]).read_text())
    raw["features"] = [f for f in raw["features"] if f["modality"] != "datetime"]
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(raw))
    run = nights["second"]["run"]
    warm = warm_start(load_contract(changed), Layout(Path(nights["home"])), run["experiment_id"], "new-run", 3)
    assert warm.configurations == [] and warm.note.startswith("cold: the features or targets changed")


def test_drifted_data_stops_a_run_before_training_when_the_contract_says_so(nights, tmp_path):
    raw = yaml.safe_load(Path(nights["contract"]).read_text())
    rows = pd.read_csv(raw["source"]["path"])
    numbers = [f["name"] for f in raw["features"] if f["modality"] == "numerical"]
    rows[numbers[0]] = rows[numbers[0]] * 5 + 100  # tonight's numbers moved far from the champion's
    drifted = tmp_path / "drifted.csv"
    rows.to_csv(drifted, index=False)
    raw["source"]["path"] = str(drifted)
    raw["drift"] = {"on_drift": "stop"}
    path = tmp_path / "nightly.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    before = len(nights["client"].search_runs([nights["second"]["run"]["experiment_id"]]))
    with pytest.raises(DriftError, match=rf"drifted .* on .*{numbers[0]}"):
        training_pipeline(contract=str(path), max_trials=1, epochs=1, home=nights["home"])
    runs = nights["client"].search_runs(
        [nights["second"]["run"]["experiment_id"]], order_by=["attributes.start_time DESC"]
    )
    assert len(runs) == before + 1 and runs[0].info.status == "FAILED"  # no trial run was started
    assert numbers[0] in runs[0].data.tags["braid.drift"]
    assert np.isfinite(runs[0].data.metrics[f"drift/{numbers[0]}/psi"])


def test_scoring_rows_that_drifted_warns_in_the_result(nights, tmp_path):
    raw = yaml.safe_load(Path(nights["contract"]).read_text())
    rows = pd.read_csv(raw["source"]["path"]).drop(columns=[t["name"] for t in raw["targets"]])
    numbers = [f["name"] for f in raw["features"] if f["modality"] == "numerical"]
    rows[numbers[0]] = rows[numbers[0]] * 5 + 100
    data = tmp_path / "tonight.csv"
    rows.to_csv(data, index=False)
    scored = pipeline.score_file(
        load_contract(nights["contract"]), Layout(Path(nights["home"])), data, tmp_path / "out.parquet"
    )
    assert scored.rows == len(rows) and any(d.startswith(numbers[0]) for d in scored.drifted)
