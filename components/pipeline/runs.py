"""The parent MLflow run's lifecycle: open (or reopen a killed one), record provenance, close."""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import platform
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from components.data import records
from components.data.contract import Contract
from components.data.sources import row_ids, rows_with_ids
from components.errors import TrackingError
from components.layout import Layout, check_writable
from components.pipeline.results import Prepared, TrackingRun, Validated
from components.tracking import DESCRIPTION_TAG, RUN_KEY_TAG, Tracker, TrackingConfig

log = logging.getLogger(__name__)


def experiment_name(contract: Contract) -> str:
    return f"braid-{contract.name}"


def registered_name(contract: Contract) -> str:
    return f"braid-{contract.name}"


def tracker_for(layout: Layout) -> Tracker:
    return Tracker(TrackingConfig.from_env(layout))


def code_version() -> str:
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=False
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment() -> dict[str, str]:
    env = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("tensorflow", "keras", "keras-tuner", "mlflow", "prefect", "great-expectations"):
        try:
            env[name] = version(name)
        except PackageNotFoundError:  # a missing optional package is simply not recorded
            env[name] = "absent"
    return env


SCHEMA_TAG = "braid.schema"


def schema_fingerprint(contract: Contract) -> str:
    """What must stay the same for an earlier run's trials to apply to this one: each feature's name
    and modality, each target's name and task."""
    schema = [[f.name, f.modality] for f in contract.features] + [[t.name, t.task] for t in contract.targets]
    return hashlib.sha256(json.dumps(schema).encode()).hexdigest()[:16]


def open_tracking_run(
    contract: Contract,
    layout: Layout,
    data_hash: str,
    settings: dict[str, Any],
    validation: Validated,
    prepared: Prepared,
) -> TrackingRun:
    """Start the parent MLflow run, or reopen the unfinished one of the same contract, data and budget
    (a killed run resumes: its trial runs that were left RUNNING are marked KILLED)."""
    tracker = tracker_for(layout)
    experiment_id = tracker.experiment_id(
        experiment_name(contract),
        (
            f"Braid searches for the data contract `{contract.name}`: one parent run per training run, a nested "
            "run per trial; the registered model's `champion` alias is the promoted one."
        ),
    )
    run_key = hashlib.sha256(json.dumps([contract.name, data_hash, settings], sort_keys=True).encode()).hexdigest()[:16]
    run_id = tracker.find_unfinished_run(experiment_id, run_key)
    resumed, killed = run_id is not None, 0
    if run_id:
        tracker.reopen_run(run_id)
        killed = tracker.mark_stale_children(run_id)
        run_name = tracker.run_name(run_id)
    else:
        run_name = f"{contract.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        run_id = tracker.start_run(
            experiment_id,
            run_name,
            {
                # what the MLflow UI shows as "Created by" and "Source"
                "mlflow.user": getpass.getuser(),
                "mlflow.source.type": "JOB",
                "mlflow.source.name": f"braid training flow (flows/training.py) on contract {contract.name}",
                DESCRIPTION_TAG: (
                    f"Braid training run on `{contract.name}`: validate, preprocess, search "
                    "(one nested run per trial), evaluate on the test split, register."
                ),
                RUN_KEY_TAG: run_key,
                "braid.contract": contract.name,
                "braid.data_hash": data_hash,
                SCHEMA_TAG: schema_fingerprint(contract),
                "braid.code_version": code_version(),
                **{f"env.{k}": v for k, v in environment().items()},
            },
        )
        # None means "Braid chooses" (e.g. the batch size): the chosen value is logged when it is known.
        chosen = {k: v for k, v in settings.items() if v is not None}
        tracker.log_params(
            run_id,
            {
                **chosen,
                "contract": contract.name,
                "data_hash": data_hash,
                "rows_train": prepared.rows.get("train"),
                "rows_val": prepared.rows.get("val"),
                "rows_test": prepared.rows.get("test"),
                "rows_quarantined": validation.n_quarantined,
            },
        )
        if contract.contract_path:
            tracker.log_artifact(run_id, Path(contract.contract_path), "contract")
        tracker.log_artifacts(run_id, Path(validation.directory), "validation")
        for name in ("state.json", "manifest.json"):
            tracker.log_artifact(run_id, Path(prepared.directory) / name, "preprocessing")
        # Which encoder and package versions made the frozen embeddings (serving refuses others).
        state = records.load_state(prepared.directory)
        tracker.set_tags(run_id, {f"braid.encoder.{c.name}": c.fitted["fingerprint"] for c in state.embeddings})
        for split, frame in split_frames(contract, prepared.directory).items():
            name, digest = dataset_key(contract, data_hash, split)
            tracker.log_dataset(
                run_id, frame, source=str(contract.source.path), name=name, digest=digest, context=SPLIT_CONTEXT[split]
            )
    search_dir = layout.search(contract.name, run_id)
    check_writable(search_dir)
    uri = tracker.config.tracking_uri
    return TrackingRun(
        run_id=run_id,
        run_name=run_name,
        experiment_id=experiment_id,
        experiment=experiment_name(contract),
        tracking_uri=uri,
        resumed=resumed,
        killed_trials=killed,
        search_dir=str(search_dir),
        ui_url=tracker.run_url(experiment_id, run_id),
    )


def link_flow_run(layout: Layout, run: TrackingRun, flow_run_id: str, flow_run_url: str | None) -> None:
    """Tag the MLflow run with the Prefect flow run that made it (its id, and its UI page when known)."""
    tags = {"prefect.flow_run_id": flow_run_id}
    if flow_run_url:
        tags["prefect.flow_run_url"] = flow_run_url
    tracker_for(layout).set_tags(run.run_id, tags)


SPLIT_CONTEXT = {"train": "training", "val": "validation", "test": "testing"}  # MLflow's dataset contexts
DATASET_ROWS = 50_000  # rows per split MLflow profiles; the digest covers all of them


def dataset_key(contract: Contract, data_hash: str, split: str) -> tuple[str, str]:
    """(name, digest) of a split's logged dataset, which metrics on that split are tied to."""
    return f"{contract.name}-{split}", f"{data_hash[:28]}-{split}"


def split_frames(contract: Contract, directory: str) -> dict[str, pd.DataFrame]:
    """Each split's raw source rows (the contract's columns: features, image paths and targets, as the
    source holds them), at most `DATASET_ROWS` each, read in one scan of the source."""
    ids = {split: records.split_ids(directory, split)[:DATASET_ROWS] for split in SPLIT_CONTEXT}
    rows = rows_with_ids(contract, [i for split in SPLIT_CONTEXT for i in ids[split]])
    row_split = {i: split for split, some in ids.items() for i in some}
    where = pd.Series([row_split[i] for i in row_ids(rows, contract.id_column)], index=rows.index, dtype=object)
    return {split: rows[where == split].reset_index(drop=True) for split in SPLIT_CONTEXT}


def close_tracking_run(home: str, run: TrackingRun, error: BaseException | None = None) -> None:
    tracker = tracker_for(Layout(Path(home)))
    if error is None:
        tracker.end_run(run.run_id, "FINISHED")
        return
    try:
        tracker.set_tags(run.run_id, {"braid.error": f"{type(error).__name__}: {error}"[:4000]})
        # A KeyboardInterrupt/kill leaves the run resumable (KILLED); a real failure is FAILED.
        tracker.end_run(run.run_id, "KILLED" if isinstance(error, (KeyboardInterrupt, SystemExit)) else "FAILED")
    except TrackingError as exc:
        # The store being down is often why we are here: keep the original error, not this one.
        log.warning("could not close MLflow run %s (%s); it stays open and resumable", run.run_id, exc)
