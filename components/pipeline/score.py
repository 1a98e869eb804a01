"""Batch scoring: a file of raw rows through the registered model at an alias (default `champion`)."""

from __future__ import annotations

import time
from pathlib import Path

from components.data.contract import Contract
from components.data.sources import read_rows
from components.errors import BraidError
from components.layout import Layout
from components.pipeline.drift import check_rows
from components.pipeline.gate import CHAMPION
from components.pipeline.results import Scored
from components.pipeline.rows import typed_rows
from components.pipeline.runs import registered_name, tracker_for
from components.serving import ERROR_COLUMN


def score_file(
    contract: Contract,
    layout: Layout,
    data_path: Path,
    output: Path | None,
    alias: str = CHAMPION,
    on_bad_rows: str = "fail",
) -> Scored:
    """Score a CSV/Parquet file with the registered model at `alias`; writes Parquet. `on_bad_rows`:
    "fail" refuses a file with rows that cannot be read (naming them); "skip" scores the others and gives
    those rows null predictions and their reason in `__error`."""
    tracker = tracker_for(layout)
    name = registered_name(contract)
    if tracker.alias_version(name, alias) is None:
        raise BraidError(
            f"no model '{name}' has alias '{alias}' in {tracker.config.tracking_uri}: "
            f"train one first with `braid run {contract.contract_path}`"
        )
    rows = typed_rows(contract, read_rows(data_path))
    drift = check_rows(contract, layout, rows)
    uri = tracker.model_uri(name, alias)
    predictions = tracker.load_pyfunc(uri).predict(rows, params={"on_bad_rows": on_bad_rows})
    if contract.id_column in rows.columns and contract.id_column not in predictions.columns:
        predictions.insert(0, contract.id_column, rows[contract.id_column].to_numpy())
    output = output or layout.scores(contract.name) / f"{data_path.stem}-{time.strftime('%Y%m%d-%H%M%S')}.parquet"
    output.parent.mkdir(parents=True, exist_ok=True)
    predictions.to_parquet(output, index=False)
    skipped = int(predictions[ERROR_COLUMN].notna().sum()) if ERROR_COLUMN in predictions.columns else 0
    return Scored(
        rows=len(predictions),
        output=str(output),
        model_uri=uri,
        drifted=drift.drifted,
        drift_markdown=drift.markdown,
        skipped=skipped,
    )
