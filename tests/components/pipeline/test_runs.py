"""Step 2, the parent MLflow run: opened with its provenance, reopened when a run of the same contract,
data and settings did not finish (its trials left running are marked killed), closed as finished,
killed (resumable) or failed."""

from mlflow.tracking import MlflowClient

from components.pipeline.runs import close_tracking_run, link_flow_run, schema_fingerprint, tracker_for
from tests.components.pipeline.support import open_run


def test_a_new_run_records_its_provenance_settings_and_splits(tiny_demo, layout):
    contract, validated, prepared = tiny_demo
    run = open_run(contract, layout, validated, prepared, epochs=2, batch_size=None)
    assert not run.resumed and run.killed_trials == 0 and run.experiment == f"braid-{contract.name}"
    client = MlflowClient(layout.mlflow_uri)
    logged = client.get_run(run.run_id)
    assert logged.info.status == "RUNNING"
    tags = logged.data.tags
    assert tags["braid.contract"] == contract.name and tags["braid.schema"] == schema_fingerprint(contract)
    assert tags["braid.data_hash"] == prepared.directory.rsplit("/", 1)[-1]
    assert tags["mlflow.source.type"] == "JOB" and tags["env.python"].count(".") == 2
    params = logged.data.params
    assert params["epochs"] == "2" and "batch_size" not in params, "a setting Braid chooses is logged when known"
    assert [params[f"rows_{split}"] for split in ("train", "val", "test")] == [
        str(prepared.rows[split]) for split in ("train", "val", "test")
    ]
    assert params["rows_quarantined"] == str(validated.n_quarantined)
    artifacts = {a.path for a in client.list_artifacts(run.run_id, "preprocessing")}
    assert artifacts == {"preprocessing/state.json", "preprocessing/manifest.json"}
    assert [a.path for a in client.list_artifacts(run.run_id, "contract")] == [f"contract/{contract.name}.yaml"]
    contexts = {t.value for i in logged.inputs.dataset_inputs for t in i.tags if t.key == "mlflow.data.context"}
    assert contexts == {"training", "validation", "testing"}
    sizes = {i.dataset.name: i.dataset for i in logged.inputs.dataset_inputs}
    assert set(sizes) == {f"{contract.name}-{split}" for split in ("train", "val", "test")}
    assert run.ui_url.endswith(f"/#/experiments/{run.experiment_id}/runs/{run.run_id}")


def test_an_unfinished_run_is_reopened_and_its_running_trials_marked_killed(tiny_demo, layout):
    contract, validated, prepared = tiny_demo
    first = open_run(contract, layout, validated, prepared)
    tracker = tracker_for(layout)
    trial = tracker.start_run(first.experiment_id, "trial-0", parent_run_id=first.run_id)
    done = tracker.start_run(first.experiment_id, "trial-1", parent_run_id=first.run_id)
    tracker.end_run(done)
    close_tracking_run(str(layout.home), first, KeyboardInterrupt())
    client = MlflowClient(layout.mlflow_uri)
    assert client.get_run(first.run_id).info.status == "KILLED"
    assert client.get_run(first.run_id).data.tags["braid.error"] == "KeyboardInterrupt: "

    again = open_run(contract, layout, validated, prepared)
    assert (again.run_id, again.run_name, again.resumed, again.killed_trials) == (
        first.run_id,
        first.run_name,
        True,
        1,
    )
    assert client.get_run(again.run_id).info.status == "RUNNING"
    assert client.get_run(trial).info.status == "KILLED" and "killed" in client.get_run(trial).data.tags["braid.error"]
    assert client.get_run(done).info.status == "FINISHED", "a finished trial stays finished"
    other = open_run(contract, layout, validated, prepared, epochs=7)
    assert other.run_id != first.run_id and not other.resumed, "other settings: another run"

    close_tracking_run(str(layout.home), again, ValueError("the disk is full"))
    failed = client.get_run(again.run_id)
    assert failed.info.status == "FAILED" and failed.data.tags["braid.error"] == "ValueError: the disk is full"
    assert open_run(contract, layout, validated, prepared).run_id == first.run_id, "a failed run is resumed too"
    close_tracking_run(str(layout.home), again)
    assert client.get_run(first.run_id).info.status == "FINISHED"
    assert open_run(contract, layout, validated, prepared).run_id != first.run_id, "a finished run is not"


def test_the_prefect_flow_run_is_linked_on_the_mlflow_run(tiny_demo, layout):
    contract, validated, prepared = tiny_demo
    run = open_run(contract, layout, validated, prepared)
    link_flow_run(layout, run, "flow-run-1", None)
    tags = MlflowClient(layout.mlflow_uri).get_run(run.run_id).data.tags
    assert tags["prefect.flow_run_id"] == "flow-run-1" and "prefect.flow_run_url" not in tags
    link_flow_run(layout, run, "flow-run-1", "http://127.0.0.1:4200/runs/flow-run/flow-run-1")
    tags = MlflowClient(layout.mlflow_uri).get_run(run.run_id).data.tags
    assert tags["prefect.flow_run_url"].endswith("/flow-run/flow-run-1")
