"""The tracking facade on a real SQLite MLflow store: experiments open in the training view, described."""

from components.tracking import DESCRIPTION_TAG, EXPERIMENT_KIND_TAG, TRAINING_KIND, Tracker, TrackingConfig


def test_experiments_are_marked_as_model_training_and_described(tmp_path):
    tracker = Tracker(TrackingConfig(f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "artifacts")))
    experiment_id = tracker.experiment_id("braid-demo", "Searches for the demo contract.")
    assert tracker.experiment_id("braid-demo") == experiment_id  # found again, description kept
    tags = tracker.client.get_experiment(experiment_id).tags
    assert tags[EXPERIMENT_KIND_TAG] == TRAINING_KIND
    assert tags[DESCRIPTION_TAG] == "Searches for the demo contract."
    tracker.experiment_id("other")
    assert tracker.runs_urls(local_ui="http://127.0.0.1:5001") == {
        "braid-demo": f"http://127.0.0.1:5001/#/experiments/{experiment_id}/runs"
    }
