"""The only module that talks to MLflow: pipeline runs, nested trial runs, artifacts, registry gate.

Every call goes through `Tracker._call`, which retries with backoff while the tracking store is
unreachable and then fails with a `TrackingError` that names the store, so a night run never dies on
a deep stack trace from `requests` and never half-registers a model.
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import mlflow
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from components.errors import TrackingError
from components.layout import Layout
from components.settings import environ_restored

log = logging.getLogger(__name__)
T = TypeVar("T")

RUN_KEY_TAG = "braid.run_key"
CREATE_KEY_TAG = "braid.create_key"  # one per created run: a retried create finds the run a lost answer made
TRIAL_TAG = "braid.trial_id"
PARENT_TAG = "mlflow.parentRunId"
DESCRIPTION_TAG = "mlflow.note.content"  # the description the MLflow UI shows and edits
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"  # MLflow 3: which view the experiment page opens in
TRAINING_KIND = "custom_model_development"
CONTEXT_TAG = "mlflow.data.context"  # which split a logged dataset is (training, validation, testing)
MODEL_STEP = 1  # the step logged models are recorded at (see `log_pyfunc`); run metrics are logged at 0
_MAX_PARAM_LEN = 6000


@dataclass(frozen=True)
class TrackingConfig:
    """Where and how to track.

    Args:
        tracking_uri: an MLflow tracking URI (`sqlite:///...`, `http://127.0.0.1:5000`).
        artifact_root: where new experiments keep artifacts when the store is a local database.
        retries: attempts per call before giving up.
        backoff_s: first wait between attempts; doubles each time, capped by `max_wait_s` in total.
    """

    tracking_uri: str
    artifact_root: str | None = None
    retries: int = 8  # 0.5+1+...+32 s > max_wait_s, so the time limit is what stops the waiting
    backoff_s: float = 0.5
    max_wait_s: float = 60.0

    @classmethod
    def from_env(cls, layout: Layout) -> "TrackingConfig":
        """`MLFLOW_TRACKING_URI` when set (a server), else SQLite + local artifacts under the layout.
        `BRAID_TRACKING_RETRIES` and `BRAID_TRACKING_MAX_WAIT_S` set how long an unreachable store is waited
        for (all read once, by `components.settings.Settings`, with the layout)."""
        settings = layout.settings
        patience = {"retries": settings.braid_tracking_retries, "max_wait_s": settings.braid_tracking_max_wait_s}
        uri = settings.mlflow_tracking_uri
        if uri:
            return cls(tracking_uri=uri, **patience)
        layout.home.mkdir(parents=True, exist_ok=True)
        return cls(tracking_uri=layout.mlflow_uri, artifact_root=layout.artifacts.as_uri(), **patience)


def _is_transient(exc: Exception) -> bool:
    text = f"{type(exc).__name__}: {exc}".lower()
    markers = (
        "connection",
        "timed out",
        "timeout",
        "max retries",
        "database is locked",
        "unavailable",
        "temporarily",
        "503",
        "502",
        "504",
        "refused",
        "reset by peer",
        # several processes creating one new SQLite store race through its schema migration
        "_alembic_tmp_",
        "alembic_version",
    )
    return any(m in text for m in markers)


class Tracker:
    """Thin, retrying facade over `MlflowClient` for one tracking store."""

    def __init__(self, config: TrackingConfig):
        # One retry layer for tracking calls: `_call`'s. MLflow's own HTTP retries (7 by default, with
        # backoff) would multiply the wait and hide which call failed.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        # Braid downloads models to score them (the gate, the champion): tqdm bars of one file each
        # would fill a log with carriage-return noise. MLflow reads the variable at each download.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        self.config = config
        if config.tracking_uri.startswith("sqlite:///"):
            self.client = self._create_store_once(Path(config.tracking_uri.removeprefix("sqlite:///")))
        else:
            self.client = MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.tracking_uri)

    def _create_store_once(self, database: Path) -> MlflowClient:
        """Several processes opening one new SQLite store race through its schema migrations ("table ...
        already exists"): the first to hold the lock creates it, the others find it made."""
        import fcntl

        database.parent.mkdir(parents=True, exist_ok=True)
        with open(database.with_name(database.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                client = MlflowClient(tracking_uri=self.config.tracking_uri, registry_uri=self.config.tracking_uri)
                self._call("open the tracking store", client.search_experiments, max_results=1)
                self._call("open the model registry", client.search_registered_models, max_results=1)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return client

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        wait, waited = self.config.backoff_s, 0.0
        for attempt in range(1, self.config.retries + 1):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - classified below, re-raised as TrackingError
                transient = _is_transient(exc)
                if not transient or attempt == self.config.retries or waited + wait > self.config.max_wait_s:
                    reason = "unreachable" if transient else "refused the request"
                    raise TrackingError(
                        f"MLflow tracking store {self.config.tracking_uri} {reason} while trying to {what} "
                        f"(after {attempt} attempt(s), {waited:.0f}s): {str(exc).splitlines()[0][:300]}. "
                        "Check that the server is running, or unset MLFLOW_TRACKING_URI to use the local store."
                    ) from exc
                log.warning("MLflow: %s failed (%s); retrying in %.1fs", what, type(exc).__name__, wait)
                time.sleep(wait)
                waited += wait
                wait *= 2
        raise AssertionError("unreachable")

    def _create_once(self, what: str, create: Callable[[], T], made: Callable[[], T | None]) -> T:
        """`create()` through `_call`, made idempotent: a server that dies after storing what an attempt
        created, but before answering, makes `_call` retry, so each retry first asks `made()` for what an
        unanswered attempt stored (None: nothing) and creates only when there is none."""
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and (found := made()) is not None:
                return found
            return create()

        return self._call(what, attempt)

    # ----------------------------------------------------------------- experiments and runs
    def experiment_id(self, name: str, description: str | None = None) -> str:
        """The id of experiment `name`, created (with the configured artifact root) if missing.

        The experiment is marked as model training (`mlflow.experimentKind`), so the MLflow 3 UI opens on
        its runs rather than its GenAI view, and carries `description` as its note."""
        found = self._call("look up experiment", self.client.get_experiment_by_name, name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                self._call("restore experiment", self.client.restore_experiment, found.experiment_id)
            experiment_id = found.experiment_id
        else:
            location = f"{self.config.artifact_root}/{name}" if self.config.artifact_root else None
            try:
                experiment_id = self._call(
                    "create experiment", self.client.create_experiment, name, artifact_location=location
                )
            except TrackingError:
                # Another process may have created it between our look-up and create.
                found = self._call("look up experiment", self.client.get_experiment_by_name, name)
                if found is None:
                    raise
                experiment_id = found.experiment_id
        tags = found.tags if found is not None else {}
        wanted = {EXPERIMENT_KIND_TAG: TRAINING_KIND, **({DESCRIPTION_TAG: description} if description else {})}
        for key, value in wanted.items():
            if tags.get(key) != value:
                self._call("tag experiment", self.client.set_experiment_tag, experiment_id, key, value)
        return experiment_id

    def start_run(
        self, experiment_id: str, run_name: str, tags: dict[str, str] | None = None, parent_run_id: str | None = None
    ) -> str:
        tags = dict(tags or {})
        if parent_run_id:
            tags[PARENT_TAG] = parent_run_id
        key = tags[CREATE_KEY_TAG] = uuid.uuid4().hex

        def made() -> mlflow.entities.Run | None:  # an unanswered attempt's run would stay RUNNING for ever
            runs = self.client.search_runs(
                [experiment_id], filter_string=f"tags.`{CREATE_KEY_TAG}` = '{key}'", max_results=1
            )
            return runs[0] if runs else None

        create = partial(self.client.create_run, experiment_id, tags=tags, run_name=run_name)
        return self._create_once("create run", create, made).info.run_id

    def find_unfinished_run(self, experiment_id: str, run_key: str) -> str | None:
        """A parent run with this key that never finished (killed or failed): the one to resume."""
        runs = self._call(
            "search runs",
            self.client.search_runs,
            [experiment_id],
            filter_string=f"tags.`{RUN_KEY_TAG}` = '{run_key}' and attributes.status != 'FINISHED'",
            max_results=5,
            order_by=["attributes.start_time DESC"],
        )
        runs = [r for r in runs if PARENT_TAG not in r.data.tags]
        return runs[0].info.run_id if runs else None

    def finished_runs(
        self, experiment_id: str, tags: dict[str, str], exclude: str | None = None, limit: int = 5
    ) -> list[mlflow.entities.Run]:
        """The latest finished parent runs carrying these tags, newest first."""
        match = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
        runs = self._call(
            "search runs",
            self.client.search_runs,
            [experiment_id],
            filter_string=f"{match} and attributes.status = 'FINISHED'",
            max_results=limit + 1,
            order_by=["attributes.start_time DESC"],
        )
        return [r for r in runs if PARENT_TAG not in r.data.tags and r.info.run_id != exclude][:limit]

    def get_run(self, run_id: str) -> mlflow.entities.Run:
        return self._call("get run", self.client.get_run, run_id)

    def read_json(self, run_id: str, artifact_path: str) -> Any | None:
        """A JSON artifact of a run, or None when the run has no such artifact."""
        import json

        try:
            local = self._call(
                "download artifact",
                mlflow.artifacts.download_artifacts,
                run_id=run_id,
                artifact_path=artifact_path,
                tracking_uri=self.config.tracking_uri,
            )
        except (TrackingError, OSError):  # the run has no such artifact (a refusal is not retried)
            return None
        try:
            return json.loads(Path(local).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def run_name(self, run_id: str) -> str:
        return self._call("get run", self.client.get_run, run_id).info.run_name

    def run_url(self, experiment_id: str, run_id: str, local_ui: str = "http://127.0.0.1:5000") -> str:
        """The run's page: on the tracking server, or on the UI `braid ui` starts for a local store."""
        return f"{self._ui_base(local_ui)}/#/experiments/{experiment_id}/runs/{run_id}"

    def runs_urls(self, prefix: str = "braid-", local_ui: str = "http://127.0.0.1:5000") -> dict[str, str]:
        """`{experiment name: its runs table in the model-training view}` for the experiments named `prefix*`."""
        found = self._call(
            "search experiments", self.client.search_experiments, filter_string=f"name LIKE '{prefix}%'", max_results=50
        )
        base = self._ui_base(local_ui)
        return {e.name: f"{base}/#/experiments/{e.experiment_id}/runs" for e in found}

    def _ui_base(self, local_ui: str) -> str:
        uri = self.config.tracking_uri
        return uri.rstrip("/") if uri.startswith("http") else local_ui

    def reopen_run(self, run_id: str) -> None:
        self._call("reopen run", self.client.update_run, run_id, status="RUNNING")

    def children(self, parent_run_id: str) -> list[mlflow.entities.Run]:
        run = self._call("get run", self.client.get_run, parent_run_id)
        return self._call(
            "search child runs",
            self.client.search_runs,
            [run.info.experiment_id],
            filter_string=f"tags.`{PARENT_TAG}` = '{parent_run_id}'",
            max_results=1000,
        )

    def mark_stale_children(self, parent_run_id: str) -> int:
        """Children still RUNNING belong to a process that died: mark them KILLED. Returns how many."""
        stale = [r for r in self.children(parent_run_id) if r.info.status == "RUNNING"]
        for run in stale:
            self._call(
                "tag killed trial",
                self.client.set_tag,
                run.info.run_id,
                "braid.error",
                "the process running this trial was killed; the trial is re-run on resume",
            )
            self._call("end killed trial", self.client.set_terminated, run.info.run_id, "KILLED")
        return len(stale)

    def fail_trials(self, parent_run_id: str, reasons: dict[str, str]) -> int:
        """End the still-running child runs of these trials (trial id → why) as FAILED. Returns how many."""
        failed = 0
        for run in self.children(parent_run_id):
            trial_id = run.data.tags.get(TRIAL_TAG)
            if trial_id in reasons and run.info.status == "RUNNING":
                self.set_tags(run.info.run_id, {"braid.trial_status": "FAILED", "braid.error": reasons[trial_id]})
                self.end_run(run.info.run_id, "FAILED")
                failed += 1
        return failed

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        RunStatus.from_string(status)
        self._call("end run", self.client.set_terminated, run_id, status)

    # ----------------------------------------------------------------- logging
    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        items = [Param(str(k), _param_value(v)) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self._call("log params", self.client.log_batch, run_id, params=items[start : start + 100])

    def log_metrics(
        self,
        run_id: str,
        metrics: dict[str, float],
        step: int | None = None,
        dataset: tuple[str, str] | None = None,
        model_id: str | None = None,
    ) -> None:
        """Log finite numbers; `dataset` (name, digest) ties them to a logged input (e.g. the test split),
        `model_id` to a logged model."""
        now = int(time.time() * 1000)
        name, digest = dataset or (None, None)
        items = [
            Metric(
                _metric_key(k), float(v), now, step or 0, dataset_name=name, dataset_digest=digest, model_id=model_id
            )
            for k, v in metrics.items()
            if v is not None and isinstance(v, (int, float)) and math.isfinite(float(v))
        ]
        for start in range(0, len(items), 500):
            self._call("log metrics", self.client.log_batch, run_id, metrics=items[start : start + 500])

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        items = [RunTag(str(k), str(v)[:5000]) for k, v in tags.items()]
        self._call("set tags", self.client.log_batch, run_id, tags=items)

    def log_artifacts(self, run_id: str, local_dir: Path, artifact_path: str | None = None) -> None:
        if Path(local_dir).is_dir():
            self._call("upload artifacts", self.client.log_artifacts, run_id, str(local_dir), artifact_path)

    def log_artifact(self, run_id: str, local_file: Path, artifact_path: str | None = None) -> None:
        if Path(local_file).is_file():
            self._call("upload artifact", self.client.log_artifact, run_id, str(local_file), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._call("upload text", self.client.log_text, run_id, text, artifact_file)

    def log_dataset(
        self, run_id: str, frame: Any, source: str, name: str, digest: str, context: str = "training"
    ) -> None:
        """Record the dataset (schema, profile, digest, source) as the run's input."""
        from mlflow.entities import DatasetInput, InputTag

        with warnings.catch_warnings():  # MLflow muses aloud about local paths and integer columns
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(frame, source=source, name=name, digest=digest[:36])
            entity = DatasetInput(dataset=dataset._to_mlflow_entity(), tags=[InputTag(key=CONTEXT_TAG, value=context)])
        self._call("log dataset", self.client.log_inputs, run_id, datasets=[entity])

    def dataset_inputs(self, run_id: str, contexts: tuple[str, ...]) -> list[Any]:
        """`run_id`'s dataset inputs of these contexts (`mlflow.data.context`), ready to log elsewhere."""
        from mlflow.entities import DatasetInput

        inputs = self._call("get run", self.client.get_run, run_id).inputs
        return [
            DatasetInput(dataset=i.dataset, tags=i.tags)
            for i in (inputs.dataset_inputs if inputs else [])
            if any(t.key == CONTEXT_TAG and t.value in contexts for t in i.tags)
        ]

    def log_dataset_inputs(self, run_id: str, inputs: list[Any]) -> None:
        if inputs:
            self._call("log datasets", self.client.log_inputs, run_id, datasets=inputs)

    def trial_observer(
        self, experiment_id: str, parent_run_id: str, tags: dict[str, str] | None = None
    ) -> "TrialObserver":
        return TrialObserver(self, experiment_id, parent_run_id, tags)

    # ----------------------------------------------------------------- registry
    @contextmanager
    def _fluent(self) -> Iterator[None]:
        """MLflow's fluent API pointed at this store for one call, then put back exactly as it was
        (unset stays unset): MLflow keeps the URIs in module globals and in MLFLOW_TRACKING_URI /
        MLFLOW_REGISTRY_URI, which would send a later run of another Braid home in this process, or a
        client made without a registry URI, to this store."""
        from mlflow.tracking._model_registry import utils as registry_utils
        from mlflow.tracking._tracking_service import utils as tracking_utils

        saved = tracking_utils._tracking_uri, registry_utils._registry_uri
        with environ_restored(("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")):
            mlflow.set_tracking_uri(self.config.tracking_uri)
            mlflow.set_registry_uri(self.config.tracking_uri)
            try:
                yield
            finally:
                tracking_utils._tracking_uri, registry_utils._registry_uri = saved

    def log_pyfunc(
        self,
        run_id: str,
        *,
        name: str,
        python_model: str,
        artifacts: dict[str, str],
        signature: Any,
        input_example: Any,
        code_paths: list[str] | None = None,
        metrics: dict[str, float] | None = None,
        dataset: tuple[str, str] | None = None,
    ) -> str:
        """Log a models-from-code pyfunc named `name` into `run_id`, with `metrics` (its own test scores,
        tied to `dataset`) as the logged model's metrics; returns its model URI."""

        def _log() -> tuple[str, str]:
            with self._fluent(), mlflow.start_run(run_id=run_id):
                # MLflow copies every run metric logged at the model's step onto the logged model (baselines,
                # search time...); at a step no run metric uses it copies none, and the model's own are
                # logged below.
                info = mlflow.pyfunc.log_model(
                    name=name,
                    python_model=python_model,
                    artifacts=artifacts,
                    signature=signature,
                    input_example=input_example,
                    code_paths=code_paths,
                    pip_requirements=_pip_requirements(),
                    step=MODEL_STEP,
                )
            return info.model_uri, info.model_id

        uri, model_id = self._call("log model", _log)
        if metrics:
            self.log_metrics(run_id, metrics, dataset=dataset, model_id=model_id)
        return uri

    @staticmethod
    def pyfunc_signature(columns: list[tuple[str, str]], example: Any, output: Any, params: dict[str, Any]) -> Any:
        """A model signature whose inputs are `columns` [(name, "double" | "string" | "binary" | "any")], all
        optional, whose outputs are inferred from an example prediction, and whose params are `params`
        ({name: default}; MLflow passes a request's params to the model only when the signature names them)."""
        from mlflow.models import ModelSignature, infer_signature
        from mlflow.types import ColSpec, Schema
        from mlflow.types.schema import AnyType

        inferred = infer_signature(example, output, params=params)
        inputs = Schema([ColSpec(AnyType() if kind == "any" else kind, name, required=False) for name, kind in columns])
        return ModelSignature(inputs=inputs, outputs=inferred.outputs, params=inferred.params)

    def load_pyfunc(self, model_uri: str) -> Any:
        """The registered or logged pyfunc at `model_uri` (`models:/name@alias`)."""

        def _load() -> Any:
            with self._fluent():
                return mlflow.pyfunc.load_model(model_uri)

        return self._call(f"load model {model_uri}", _load)

    def register(
        self,
        model_uri: str,
        name: str,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        version_description: str | None = None,
    ) -> str:
        """Register the logged model `model_uri` as a new version of `name`; returns the version.
        Never leaves a version without its files: the model is logged (files uploaded) first.
        `description` describes the registered model (set when it has none), `version_description` the version."""

        def _register() -> str:
            # register_model resolves a logged model's `models:/m-...` URI (and its model id), which a
            # bare create_model_version against a tracking server would refuse.
            with self._fluent():
                return str(mlflow.register_model(model_uri, name, tags=tags or {}).version)

        version = self._create_once("register model version", _register, partial(self._version_of, name, model_uri))
        if description and not self._call("get registered model", self.client.get_registered_model, name).description:
            self._call("describe registered model", self.client.update_registered_model, name, description)
        if version_description:
            self._call("describe model version", self.client.update_model_version, name, version, version_description)
        return version

    def _version_of(self, name: str, model_uri: str) -> str | None:
        """The version of `name` already registered from `model_uri` (a `models:/<model id>` URI), if any."""
        model_id = model_uri.removeprefix("models:/")
        versions = self.client.search_model_versions(f"name = '{name}'")
        made = [v for v in versions if v.source == model_uri or (v.model_id and v.model_id == model_id)]
        return str(max(int(v.version) for v in made)) if made else None

    def alias_version(self, name: str, alias: str) -> str | None:
        try:
            return str(self.client.get_model_version_by_alias(name, alias).version)
        except MlflowException:
            return None

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._call(f"set alias {alias}", self.client.set_registered_model_alias, name, alias, version)

    def version_run_id(self, name: str, version: str) -> str:
        return self._call("get model version", self.client.get_model_version, name, version).run_id

    def model_uri(self, name: str, alias: str) -> str:
        return f"models:/{name}@{alias}"


class TrialObserver:
    """Search observer that mirrors each trial into a nested MLflow run (see docs/DESIGN.md)."""

    def __init__(self, tracker: Tracker, experiment_id: str, parent_run_id: str, tags: dict[str, str] | None = None):
        self.tracker = tracker
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.tags = dict(tags or {})  # on every trial run, e.g. which search worker ran it
        self.runs: dict[str, str] = {}
        self._inputs: list[Any] | None = None

    def on_trial_begin(self, trial_id: str, hyperparameters: dict[str, Any]) -> None:
        run_id = self.tracker.start_run(
            self.experiment_id,
            f"trial-{trial_id}",
            {TRIAL_TAG: str(trial_id), **self.tags},
            parent_run_id=self.parent_run_id,
        )
        self.runs[trial_id] = run_id
        self.tracker.log_params(run_id, hyperparameters)
        if self._inputs is None:  # the parent's datasets, read once for every trial
            self._inputs = self.tracker.dataset_inputs(self.parent_run_id, ("training", "validation"))
        self.tracker.log_dataset_inputs(run_id, self._inputs)

    def on_epoch_end(self, trial_id: str, epoch: int, logs: dict[str, float]) -> None:
        if trial_id in self.runs:
            self.tracker.log_metrics(self.runs[trial_id], logs, step=epoch)

    def on_trial_end(
        self,
        trial_id: str,
        status: str,
        metrics: dict[str, float],
        error: str | None,
        model_size: int | None,
        duration_s: float,
    ) -> None:
        run_id = self.runs.get(trial_id)
        if run_id is None:
            return
        # The last epoch's metrics are already the last points of the per-epoch curves.
        final = {"trial/duration_s": duration_s}
        if model_size is not None:
            final["trial/model_params"] = model_size
        self.tracker.log_metrics(run_id, final)
        tags = {"braid.trial_status": status}
        if error:
            tags["braid.error"] = error
        self.tracker.set_tags(run_id, tags)
        ok = status.upper() in {"COMPLETED", "FINISHED", "OK"}
        self.tracker.end_run(run_id, "FINISHED" if ok else "FAILED")


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_PARAM_LEN else text[: _MAX_PARAM_LEN - 3] + "..."


def _metric_key(key: str) -> str:
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in str(key))


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    names = ["tensorflow", "keras", "pandas", "pyarrow", "pillow", "pydantic", "numpy", "mlflow"]
    return [f"{n}=={version(n)}" for n in names]
