"""Raw rows as a caller of the served model sends them, and the pyfunc's input columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.data.contract import Contract
from components.data.sources import rows_with_ids


def holdout_rows(contract: Contract, ids: list[str]) -> pd.DataFrame:
    """The source rows with these ids (in this order), typed: the holdout evaluation and the gate score."""
    return typed_rows(contract, rows_with_ids(contract, ids))


def typed_rows(contract: Contract, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as a caller of the served model sends them: numbers as floats, the rest as they are."""
    rows = rows.copy()
    for feature in contract.features:
        if feature.name not in rows.columns:
            continue
        if feature.modality == "numerical":
            rows[feature.name] = pd.to_numeric(rows[feature.name], errors="coerce").astype("float64")
        elif feature.modality in {"text", "categorical"}:
            rows[feature.name] = rows[feature.name].map(lambda v: v if isinstance(v, str) or _is_missing(v) else str(v))
    return rows


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def input_columns(contract: Contract, example: pd.DataFrame) -> list[tuple[str, str]]:
    """The pyfunc's input columns: every feature, numbers as doubles, images as bytes or path strings.
    The id is not part of it: callers key rows as they like, and predictions come back in row order."""
    columns = []
    for feature in contract.features:
        if feature.modality == "numerical":
            kind = "double"
        elif feature.modality == "image" and len(example) and isinstance(example[feature.name].iloc[0], bytes):
            kind = "binary"
        else:
            kind = "string"
        columns.append((feature.name, kind))
    return columns
