"""Helpers of the step tests: parent runs as the training flow opens them, and a registry alias on a run."""

from __future__ import annotations

from typing import Any

from mlflow.tracking import MlflowClient

from components.data.contract import Contract
from components.layout import Layout
from components.pipeline.gate import CHAMPION
from components.pipeline.results import Prepared, TrackingRun, Validated
from components.pipeline.runs import open_tracking_run, registered_name


def open_run(
    contract: Contract, layout: Layout, validated: Validated, prepared: Prepared, **settings: Any
) -> TrackingRun:
    """`open_tracking_run` as the flow calls it; different `settings` open different runs."""
    data_hash = prepared.directory.rstrip("/").rsplit("/", 1)[-1]
    return open_tracking_run(contract, layout, data_hash, {"max_trials": 1, **settings}, validated, prepared)


def crown(contract: Contract, layout: Layout, run_id: str) -> str:
    """Register a version made by `run_id` (its artifacts as the source) and make it the champion, as the
    gate does after a promotion; returns the version."""
    client = MlflowClient(layout.mlflow_uri)
    name = registered_name(contract)
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name)
    source = client.get_run(run_id).info.artifact_uri
    version = client.create_model_version(name, source, run_id=run_id).version
    client.set_registered_model_alias(name, CHAMPION, version)
    return str(version)
