"""The real training flow end to end: Prefect (test API), MLflow on a temporary SQLite store, tiny data."""

import json
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from components import pipeline
from components.data.contract import load_contract
from components.errors import DataValidationError
from components.layout import Layout
from flows.scoring import scoring_pipeline
from flows.training import training_pipeline
from tests.browser import loaded_images, needs_chromium

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(module_store):
    root, env = module_store
    env.setenv("BRAID_HOME", str(root / "home"))
    return root


@pytest.fixture(scope="module")
def contract_path(home, demo_contract_factory):
    return demo_contract_factory(home, rows=160, image_size=16)


@pytest.fixture(scope="module")
def first_run(home, contract_path):
    return training_pipeline(
        contract=str(contract_path), max_trials=2, epochs=2, tuner="random", seed=1, home=str(home / "home")
    )


def _client(home: Path) -> MlflowClient:
    return MlflowClient(Layout(home / "home").mlflow_uri)


def test_parent_and_nested_trial_runs_are_recorded(home, first_run):
    client = _client(home)
    parent = client.get_run(first_run["run"]["run_id"])
    assert parent.info.status == "FINISHED"
    assert parent.data.params["contract"] == "demo"
    assert parent.data.tags["braid.data_hash"] == first_run["prepared"]["directory"].rsplit("/", 1)[-1]
    assert "test/combined_score" in parent.data.metrics
    for target, metric in (("kind", "accuracy"), ("score", "mae"), ("tags", "micro_f1")):
        assert f"test/{target}/{metric}" in parent.data.metrics
        assert f"baseline/{target}/{metric}" in parent.data.metrics
    # one name per quantity: the gate's score is the metric the selection tag names, logged once
    assert parent.data.tags["braid.selection_metric"] == "test/combined_score"
    assert not [k for k in parent.data.metrics if "primary_score" in k or "challenger_score" in k or "." in k]
    assert int(parent.data.params["batch_size"]) == first_run["trained"]["batch_size"] > 0, "the size used, not None"
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    assert len(children) == 2
    # the chosen trial (first in the leaderboard the plot draws, green) has the lowest objective
    best_epoch = {
        c.data.tags["braid.trial_id"]: min(
            m.value for m in client.get_metric_history(c.info.run_id, "val_combined_loss")
        )
        for c in children
        if c.info.status == "FINISHED"
    }
    assert parent.data.tags["braid.best_trial"] == min(best_epoch, key=best_epoch.get)
    for child in children:
        assert child.info.status in {"FINISHED", "FAILED"}
        assert child.data.params, "each trial logs its hyperparameters"
        history = client.get_metric_history(child.info.run_id, "val_loss")
        assert len(history) == 2, "one val_loss point per epoch"
        assert not [k for k in child.data.metrics if k.startswith("final_")], "no copies of the last epoch"
        contexts = {i.tags[0].value for i in child.inputs.dataset_inputs}
        assert contexts == {"training", "validation"}, "each trial names the data it was fitted and chosen on"
    assert parent.data.tags["mlflow.user"] and "training flow" in parent.data.tags["mlflow.source.name"]
    assert parent.data.tags["mlflow.note.content"].startswith("Braid training run")


def test_each_split_is_logged_with_the_raw_schema_and_the_models_metrics_are_tied_to_the_test_split(home, first_run):
    client = _client(home)
    parent = client.get_run(first_run["run"]["run_id"])
    inputs = {i.tags[0].value: i.dataset for i in parent.inputs.dataset_inputs}
    assert set(inputs) == {"training", "validation", "testing"}
    rows = first_run["prepared"]["rows"]
    for context, split in (("training", "train"), ("validation", "val"), ("testing", "test")):
        schema = json.loads(inputs[context].schema)["mlflow_colspec"]
        names = {column["name"] for column in schema}
        assert {"image", "description", "price", "color", "listed_on", "kind", "score", "tags"} <= names
        assert json.loads(inputs[context].profile)["num_rows"] == rows[split]
    metrics = client.get_logged_model(parent.outputs.model_outputs[0].model_id).metrics
    assert {(m.dataset_name, m.dataset_digest) for m in metrics} == {(inputs["testing"].name, inputs["testing"].digest)}


def test_experiment_model_and_version_are_described_and_the_model_keeps_only_its_own_metrics(home, first_run):
    client = _client(home)
    parent = client.get_run(first_run["run"]["run_id"])
    experiment = client.get_experiment(parent.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "demo" in experiment.tags["mlflow.note.content"]
    name = first_run["decision"]["registered_model"]
    assert "champion" in client.get_registered_model(name).description
    version = client.get_model_version(name, first_run["decision"]["version"])
    assert parent.info.run_name in version.description
    logged = client.get_logged_model(parent.outputs.model_outputs[0].model_id)
    assert logged.name == name
    assert logged.metrics and {m.key.split("/")[0] for m in logged.metrics} == {"test"}


def test_artifacts_are_logged(home, first_run):
    client = _client(home)
    run_id = first_run["run"]["run_id"]
    top = {a.path for a in client.list_artifacts(run_id)}
    assert {"contract", "validation", "preprocessing", "evaluation", "search"} <= top
    evaluation = {a.path for a in client.list_artifacts(run_id, "evaluation")}
    assert "evaluation/kind_confusion_matrix.png" in evaluation
    assert "evaluation/score_predicted_vs_actual.png" in evaluation
    assert "evaluation/tags_per_label_f1.png" in evaluation
    search = {a.path for a in client.list_artifacts(run_id, "search")}
    assert {
        "search/trial_leaderboard.png",
        "search/learning_curves.png",
        "search/pareto_front.png",
        "search/trials.json",
    } <= search
    assert {"evaluation/modality_contributions.png", "evaluation/contributions.md"} <= evaluation
    validation = {a.path for a in client.list_artifacts(run_id, "validation")}
    assert any(p.endswith("data_docs") for p in validation)


def test_every_trial_has_its_per_head_losses_and_the_chosen_one_is_on_the_pareto_front(home, first_run):
    board = first_run["trained"]["leaderboard"]
    completed = [row for row in board if row["status"] == "COMPLETED"]
    assert completed and all(
        isinstance(row[f"val/{h}_loss"], float) for row in completed for h in ("kind", "score", "tags")
    )
    assert board[0]["pareto"] is True
    local = mlflow.artifacts.download_artifacts(
        run_id=first_run["run"]["run_id"],
        artifact_path="search/trials.json",
        tracking_uri=Layout(home / "home").mlflow_uri,
    )
    trials = json.loads(Path(local).read_text())
    assert trials["heads"] == ["kind", "score", "tags"] and trials["trials"][0]["hyperparameters"]


def test_each_modality_is_blanked_on_the_test_rows_and_its_contribution_logged(home, first_run):
    metrics = _client(home).get_run(first_run["run"]["run_id"]).data.metrics
    for modality in ("image", "text", "numerical", "categorical", "datetime"):
        drop = metrics[f"contribution/{modality}/combined_score"]
        assert drop == pytest.approx(metrics["test/combined_score"] - _blanked_combined(first_run, modality), abs=2e-4)
        assert f"blanked/{modality}/score/mae" in metrics
    table = first_run["evaluated"]["contributions_markdown"]
    assert "| image |" in table and "| text |" in table


def _blanked_combined(run: dict, modality: str) -> float:
    table = run["evaluated"]["contributions_markdown"]
    row = next(line for line in table.splitlines() if line.startswith(f"| {modality} |"))
    return float(row.rstrip(" |").split("|")[-1].split("(")[0])


def test_the_run_report_is_one_page_that_loads_nothing_and_is_logged(home, first_run):
    page = Path(first_run["report"])
    html = page.read_text(encoding="utf-8")
    for part in ("Pareto", "What each modality contributes", "Beats the classical model", "braid score", "kind"):
        assert part in html, part
    assert 'src="http' not in html and "<script" not in html and html.count('src="data:image/png;base64,') >= 6
    listed = {a.path for a in _client(home).list_artifacts(first_run["run"]["run_id"], "report")}
    assert listed == {"report/run_report.html"}


@needs_chromium
def test_the_run_report_renders_with_every_plot_in_a_headless_browser(first_run, tmp_path):
    page = Path(first_run["report"])
    loaded, dom = loaded_images(page, tmp_path)
    assert loaded == page.read_text(encoding="utf-8").count("<img ") >= 6
    assert "Pareto" in dom and "What each modality contributes" in dom


def test_first_model_is_registered_as_champion_and_challenger(home, first_run):
    client = _client(home)
    decision = first_run["decision"]
    assert decision["promoted"] and decision["previous_champion"] is None
    champion = client.get_model_version_by_alias("braid-demo", "champion")
    challenger = client.get_model_version_by_alias("braid-demo", "challenger")
    assert str(champion.version) == str(challenger.version) == decision["version"]
    assert champion.run_id == first_run["run"]["run_id"]


def test_pyfunc_predicts_every_target_from_raw_rows(home, first_run, contract_path):
    contract = load_contract(contract_path)
    mlflow.set_tracking_uri(Layout(home / "home").mlflow_uri)
    model = mlflow.pyfunc.load_model("models:/braid-demo@champion")
    rows = pd.read_csv(contract.source.path).head(7).drop(columns=["kind", "score", "tags"])
    out = model.predict(rows)
    assert len(out) == 7
    assert set(out["kind"]) <= {"antique", "gadget", "heirloom", "tool"}
    assert np.isfinite(out["score"]).all()
    assert all(isinstance(v, str) for v in out["tags"])
    assert np.allclose([sum(p) for p in out["kind__proba"]], 1.0, atol=1e-4)
    # the stored input example carries its images (data URIs), so it scores without any image root
    local = mlflow.artifacts.download_artifacts("models:/braid-demo@champion")
    example = mlflow.models.Model.load(local).load_input_example(local)
    assert all(str(cell).startswith("data:image/png;base64,") for cell in example["image"])
    assert len(model.predict(example, params={"image_root": "nowhere"})) == len(example)


def test_a_worse_model_does_not_take_champion(home, first_run, contract_path):
    """Register a scrambled copy of the best model, served alone: it scores worse, so it stays challenger only.

    Alone, because the first run may serve a head by its classical model, which a scrambled network does not
    change; with the heads' choices kept, a first network worse than the majority class made the "worse" copy
    score higher."""
    contract = load_contract(contract_path)
    layout = Layout(home / "home")
    trained = dict(first_run["trained"])
    model = keras.saving.load_model(trained["model_path"], safe_mode=True)
    rng = np.random.default_rng(0)
    for weight in model.trainable_weights:
        weight.assign(rng.normal(0, 3, weight.shape).astype(weight.dtype))
    worse_path = Path(first_run["run"]["search_dir"]) / "scrambled.keras"
    model.save(worse_path)
    trained["model_path"] = str(worse_path)
    trained["blend_dir"], trained["head_models"] = None, {}
    run = pipeline.TrackingRun.from_dict(first_run["run"])
    prepared, trained = pipeline.Prepared.from_dict(first_run["prepared"]), pipeline.Trained.from_dict(trained)
    evaluated = pipeline.evaluate(contract, layout, run, prepared, trained)
    assert evaluated.primary_score < first_run["evaluated"]["primary_score"]
    decision = pipeline.register(contract, layout, run, prepared, trained, evaluated).to_dict()
    assert not decision["promoted"]
    assert decision["champion_score"] == pytest.approx(first_run["evaluated"]["primary_score"], abs=1e-6)
    client = _client(home)
    assert str(client.get_model_version_by_alias("braid-demo", "champion").version) == first_run["decision"]["version"]
    assert str(client.get_model_version_by_alias("braid-demo", "challenger").version) == decision["version"]


def test_scoring_flow_writes_predictions(home, first_run, contract_path, tmp_path):
    contract = load_contract(contract_path)
    rows = pd.read_csv(contract.source.path).head(12)
    data = tmp_path / "new.csv"
    rows.drop(columns=["kind", "score", "tags"]).to_csv(data, index=False)
    result = scoring_pipeline(
        contract=str(contract_path), data=str(data), output=str(tmp_path / "out.parquet"), home=str(home / "home")
    )
    scored = pd.read_parquet(result["output"])
    assert len(scored) == 12 and list(scored["id"]) == list(rows["id"])
    assert {"kind", "score", "tags"} <= set(scored.columns)


def test_validation_failure_stops_before_training(home, demo_contract_factory, tmp_path):
    path = demo_contract_factory(tmp_path, rows=40, image_size=16, name="broken")
    contract = load_contract(path)
    frame = pd.read_csv(contract.source.path, dtype=str)
    frame.loc[3, "price"] = "not a number"
    frame.drop(columns=["weight"]).to_csv(contract.source.path, index=False)
    with pytest.raises(DataValidationError) as caught:
        training_pipeline(contract=str(path), max_trials=1, epochs=1, home=str(home / "home"))
    message = str(caught.value)
    assert "weight" in message and "price" in message
    layout = Layout(home / "home")
    assert not (layout.home / "runs" / "broken").exists(), "no search may start after a failed validation"
    assert not (layout.home / "data" / "broken").exists(), "no preprocessing either"


def test_the_two_uis_are_linked_and_prefect_keeps_info_logs(home, first_run):
    """The MLflow run names its flow run; the flow run is named after the MLflow run, links to it, and
    holds the flow's INFO logs (the console is quiet, the API is not)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    parent = _client(home).get_run(first_run["run"]["run_id"])
    flow_run_id = UUID(parent.data.tags["prefect.flow_run_id"])
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        artifacts = client.read_artifacts(limit=200)
    assert flow_run.name == parent.info.run_name == first_run["run"]["run_name"]
    messages = [log.message for log in logs if log.level == 20]
    assert any("validation passed" in m for m in messages), messages
    assert any(first_run["run"]["ui_url"] in m for m in messages)
    # Prefect stores a link artifact as markdown: "[text](url)".
    links = [a for a in artifacts if a.key == "mlflow-run-braid-demo" and first_run["run"]["ui_url"] in str(a.data)]
    assert links and links[0].flow_run_id == flow_run_id, [(a.type, a.key, a.flow_run_id) for a in artifacts]


def test_braid_serve_scores_raw_rows_over_http_with_an_image_sent_as_bytes(home, first_run, contract_path, tmp_path):
    import base64

    import httpx

    from tests.braid_serve import served

    contract = load_contract(contract_path)
    with served(contract_path, home / "home", tmp_path / "serve.log") as port:
        rows = pd.read_csv(contract.source.path).head(3).drop(columns=["kind", "score", "tags"])
        as_bytes = rows.iloc[[0]].copy()
        image = (contract.source.image_base / rows["image"].iloc[0]).read_bytes()
        as_bytes["image"] = "data:image/png;base64," + base64.b64encode(image).decode()
        sent = pd.concat([rows, as_bytes], ignore_index=True)
        payload = {"dataframe_split": json.loads(sent.to_json(orient="split", index=False))}
        response = httpx.post(f"http://127.0.0.1:{port}/invocations", json=payload, timeout=120)
        assert response.status_code == 200, response.text[:2000]
        out = pd.DataFrame(response.json()["predictions"])
        assert len(out) == 4 and np.isfinite(out["score"]).all()
        assert out["score"].iloc[3] == pytest.approx(out["score"].iloc[0], abs=1e-5)  # bytes == path
        assert out["kind"].iloc[3] == out["kind"].iloc[0]
        sent.loc[1, "image"] = "../outside.png"  # one bad row: refused with Braid's sentence, or skipped
        payload = {"dataframe_split": json.loads(sent.to_json(orient="split", index=False))}
        refused = httpx.post(f"http://127.0.0.1:{port}/invocations", json=payload, timeout=120)
        assert refused.status_code == 400 and "stack_trace" not in refused.json(), refused.text[:2000]
        assert f"row 1 (id '{sent['id'].iloc[1]}'), column 'image'" in refused.json()["message"]
        skipped = httpx.post(
            f"http://127.0.0.1:{port}/invocations", json={**payload, "params": {"on_bad_rows": "skip"}}, timeout=120
        ).json()["predictions"]
        assert [row["score"] is None for row in skipped] == [False, True, False, False]


def test_braid_trials_shows_the_front_and_the_trial_other_weights_pick(home, first_run, contract_path, monkeypatch):
    from typer.testing import CliRunner

    from flows.cli import app

    monkeypatch.setenv("BRAID_HOME", str(home / "home"))
    done = CliRunner().invoke(app, ["trials", str(contract_path), "--weight", "score=5"])
    assert done.exit_code == 0, done.output
    chosen = done.output.split("These weights pick trial ")[1].split()[0]
    assert chosen in {row["trial_id"] for row in first_run["trained"]["leaderboard"]}
    bad = CliRunner().invoke(app, ["trials", str(contract_path), "--weight", "nohead=1"])
    assert bad.exit_code == 2
