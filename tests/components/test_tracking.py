"""The tracking facade on a real SQLite MLflow store: experiments open in the training view, described."""

import mlflow

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


class _AnswerLostOnce:
    """The real client, except that the first `create_run` is stored and then its answer is lost, as when
    the tracking server dies between committing the run and replying."""

    def __init__(self, client):
        self._client, self.lost = client, 0

    def __getattr__(self, name):
        return getattr(self._client, name)

    def create_run(self, *args, **kwargs):
        run = self._client.create_run(*args, **kwargs)
        if not self.lost:
            self.lost += 1
            raise ConnectionError("Connection aborted: the server closed the connection")
        return run


def test_a_create_whose_answer_was_lost_is_not_made_twice(tmp_path):
    tracker = Tracker(
        TrackingConfig(f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "a"), backoff_s=0.01)
    )
    experiment_id = tracker.experiment_id("braid-lost")
    real, tracker.client = tracker.client, _AnswerLostOnce(tracker.client)
    run_id = tracker.start_run(experiment_id, "trial-0", {"braid.trial_id": "0"})
    assert tracker.client.lost == 1
    runs = real.search_runs([experiment_id])
    assert [r.info.run_id for r in runs] == [run_id]  # the retry found the stored run, made no second one
    assert runs[0].data.tags["braid.trial_id"] == "0"


class _Model(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input


def test_a_registration_whose_answer_was_lost_makes_one_version(tmp_path, monkeypatch):
    tracker = Tracker(
        TrackingConfig(f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "a"), backoff_s=0.01)
    )
    run_id = tracker.start_run(tracker.experiment_id("braid-lost"), "pipeline")
    with tracker._fluent(), mlflow.start_run(run_id=run_id):
        model_uri = mlflow.pyfunc.log_model(name="model", python_model=_Model(), pip_requirements=[]).model_uri
    real, lost = mlflow.register_model, []

    def answer_lost_once(*args, **kwargs):  # stored by the registry, then the connection drops
        version = real(*args, **kwargs)
        if not lost:
            lost.append(str(version.version))
            raise ConnectionError("Connection aborted: the server closed the connection")
        return version

    monkeypatch.setattr(mlflow, "register_model", answer_lost_once)
    version = tracker.register(model_uri, "braid-lost")
    assert lost == [version]  # the retry found the stored version
    assert [str(v.version) for v in tracker.client.search_model_versions("name = 'braid-lost'")] == [version]
