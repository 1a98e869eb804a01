"""Step 2b: drift between scheduled runs, per modality, before any training.

Each run keeps a statistical profile of its training rows (`profile/profile.json` on its MLflow run:
numbers, categories, text, images, targets). Tonight's training rows are compared with the
champion's profile; over a `drift:` threshold the run warns or stops, as the contract says. Scoring a
file runs the same check on its feature columns against the champion's profile, and warns.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from components.data import records
from components.data.contract import Contract
from components.data.profile import profile_frame
from components.errors import DriftError
from components.evaluation.drift import compare
from components.layout import Layout
from components.pipeline.gate import champion_run
from components.pipeline.results import Drifted, Prepared, TrackingRun
from components.pipeline.rows import bounded_split
from components.pipeline.runs import tracker_for

log = logging.getLogger(__name__)
PROFILE = "profile/profile.json"


def champion_profile(contract: Contract, layout: Layout) -> tuple[dict | None, str | None]:
    """(the champion's training-data profile, its run id); (None, None) with no champion or profile."""
    run_id = champion_run(contract, layout)
    return (None, None) if run_id is None else (tracker_for(layout).read_json(run_id, PROFILE), run_id)


def frozen_embeddings(directory: str) -> dict[str, np.ndarray]:
    """The train split's frozen pretrained embeddings per text/image feature, as preprocessing stored
    them in the shards (none without the `pretrained` extra): their centroid is compared too."""
    state = records.load_state(directory)
    columns = {column.name: column.config["source"] for column in state.embeddings}
    if not columns:
        return {}
    parts: dict[str, list[np.ndarray]] = {name: [] for name in columns}
    for x, _ in records.make_dataset(directory, "train", batch_size=512):
        for name in columns:
            parts[name].append(x[name].numpy())
    return {source: np.concatenate(parts[name]) for name, source in columns.items()}


def check_drift(contract: Contract, layout: Layout, run: TrackingRun, prepared: Prepared, seed: int = 0) -> Drifted:
    """Profile tonight's training rows (logged for the next run) and compare them with the champion's.

    Raises:
        DriftError: a check is over its threshold and the contract says `drift: {on_drift: stop}`.
    """
    reference, reference_run = champion_profile(contract, layout)
    # Memory bounded: at most `drift.max_rows` training rows are profiled (seeded, stratified on the class).
    state = records.load_state(prepared.directory)
    rows, _, positions = bounded_split(contract, state, prepared.directory, "train", contract.drift.max_rows, seed)
    current = profile_frame(
        contract,
        rows,
        image_base=contract.source.image_base,
        reference=reference,
        max_images=contract.drift.max_images,
        seed=seed,
        embeddings={k: v[positions] for k, v in frozen_embeddings(prepared.directory).items()},
    )
    out = Path(run.search_dir) / "profile"
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.json").write_text(json.dumps(current), encoding="utf-8")
    tracker = tracker_for(layout)
    tracker.log_artifacts(run.run_id, out, "profile")
    if reference is None:
        return Drifted(
            checked=False,
            drifted=[],
            markdown="No drift check: there is no champion with "
            "training statistics yet (this run's are kept for the next one).",
        )
    return _verdict(contract, layout, run, compare(reference, current, contract.drift.thresholds), reference_run)


def _verdict(contract: Contract, layout: Layout, run: TrackingRun, report, reference_run: str) -> Drifted:
    tracker = tracker_for(layout)
    tracker.log_metrics(run.run_id, report.metrics())
    tracker.log_text(run.run_id, report.markdown(), "drift/drift.md")
    drifted = [f"{c.column} {c.statistic}" for c in report.drifted]
    tracker.set_tags(run.run_id, {"braid.drift": ", ".join(drifted) or "none"})
    if drifted and contract.drift.on_drift == "stop":
        raise DriftError(
            f"the training data of '{contract.name}' drifted from the champion's (run "
            f"{reference_run}) on {', '.join(drifted)}; see the drift report in MLflow run "
            f"{run.run_id} (drift/drift.md). Check the data, raise the thresholds under "
            "`drift: thresholds:` or set `drift: {on_drift: warn}` in the contract to train anyway"
        )
    if drifted:
        log.warning("data drift in %s: %s", contract.name, ", ".join(drifted))
    return Drifted(checked=True, drifted=drifted, markdown=report.markdown(), reference_run=reference_run)


def check_rows(contract: Contract, layout: Layout, rows: pd.DataFrame) -> Drifted:
    """The feature columns of rows to score against the champion's training profile (warns only)."""
    reference, reference_run = champion_profile(contract, layout)
    if reference is None:
        return Drifted(checked=False, drifted=[], markdown="No drift check: the champion has no training statistics.")
    features = {f.name for f in contract.features}
    reference = {**reference, "columns": {k: v for k, v in reference["columns"].items() if k in features}}
    inputs_only = contract.model_copy(update={"targets": []})  # rows to score have no targets
    current = profile_frame(
        inputs_only,
        rows,
        image_base=contract.source.image_base,
        reference=reference,
        max_images=contract.drift.max_images,
    )
    report = compare(reference, current, contract.drift.thresholds)
    drifted = [f"{c.column} {c.statistic}" for c in report.drifted]
    if drifted:
        log.warning("rows to score drift from the champion's training data on %s", ", ".join(drifted))
    return Drifted(checked=True, drifted=drifted, markdown=report.markdown(), reference_run=reference_run)
