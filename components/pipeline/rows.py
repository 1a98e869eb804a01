"""Raw rows as a caller of the served model sends them, and the pyfunc's input columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.data.contract import Contract
from components.data.sources import rows_with_ids
from components.features.timeseries import series_json


def holdout_rows(contract: Contract, ids: list[str]) -> pd.DataFrame:
    """The source rows with these ids (in this order), typed: the holdout evaluation and the gate score."""
    return typed_rows(contract, rows_with_ids(contract, ids))


def typed_rows(contract: Contract, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as a caller of the served model sends them: numbers as floats, series as JSON arrays, the rest
    as they are."""
    rows = rows.copy()
    for feature in contract.features:
        if feature.name not in rows.columns:
            continue
        if feature.modality == "numerical":
            rows[feature.name] = pd.to_numeric(rows[feature.name], errors="coerce").astype("float64")
        elif feature.modality in {"text", "categorical"}:
            rows[feature.name] = rows[feature.name].map(lambda v: v if isinstance(v, str) or _is_missing(v) else str(v))
        elif feature.modality == "timeseries":  # a Parquet list cell as the JSON array a caller sends
            rows[feature.name] = rows[feature.name].map(series_json)
    return rows


EXAMPLE_IMAGE_BYTES = 256 * 1024  # larger example images stay paths: the example is stored with the model


def self_contained(contract: Contract, rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with path-based image and audio cells replaced by data URIs of their files (when small), so an
    input example scores on any machine, without the training machine's image root."""
    import base64
    import mimetypes

    from components.data.images import ImageProblem, locate, normalized_root

    rows = rows.copy()
    root = normalized_root(contract.source.image_base)
    for feature in contract.features:
        if feature.modality not in {"image", "audio"} or feature.name not in rows.columns:
            continue
        cells = []
        for cell in rows[feature.name]:
            try:
                where = locate(cell, root) if isinstance(cell, str) else None  # a data URI gives bytes
            except ImageProblem:
                where = None
            if isinstance(where, str) and Path(where).stat().st_size <= EXAMPLE_IMAGE_BYTES:
                kind = mimetypes.guess_type(where)[0] or "image/png"
                cell = f"data:{kind};base64," + base64.b64encode(Path(where).read_bytes()).decode("ascii")
            cells.append(cell)
        rows[feature.name] = cells
    return rows


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def input_columns(contract: Contract, example: pd.DataFrame) -> list[tuple[str, str]]:
    """The pyfunc's input columns: the id (optional, of any type: it comes back with the predictions and names
    the rows that cannot be scored), then every feature, numbers as doubles, images and audio clips as bytes
    or path strings (a data URI is a string)."""
    columns = [(contract.id_column, "any")]
    for feature in contract.features:
        if feature.modality == "numerical":
            kind = "double"
        elif (
            feature.modality in {"image", "audio"} and len(example) and isinstance(example[feature.name].iloc[0], bytes)
        ):
            kind = "binary"
        else:
            kind = "string"
        columns.append((feature.name, kind))
    return columns
