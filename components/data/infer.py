"""`braid contract infer`: a first draft of a contract from the data itself, meant to be read and edited."""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

import numpy as np

from components.data.sources import read_sample
from components.errors import ContractError, DataError
from components.features.audio import AudioProblem, looks_like_audio, probe, proposed_rate, proposed_seconds
from components.features.timeseries import SeriesProblem, parse_series, proposed_length

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
_AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga"}
_AUDIO_PROBES = 200  # clips whose headers are read for the proposed sample rate and duration
_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
_INFER_ROWS = 10_000


def infer_contract(
    data_path: str | Path,
    *,
    name: str | None = None,
    image_root: str | Path | None = None,
    targets: tuple[str, ...] | list[str] = (),
    contract_dir: str | Path | None = None,
) -> str:
    """Draft a contract for a CSV or Parquet file by looking at its first rows.

    Modalities are guessed from the values: paths to existing image files → image; long free text →
    text; few distinct strings → categorical; ISO dates → datetime; numbers → numerical; the first
    unique column (preferring names with "id") → the id; lists or JSON arrays of numbers (or of
    vectors) → timeseries, with `max_length` the 95th percentile of their lengths; WAV/FLAC/OGG bytes or
    paths → audio, with `sample_rate` the most common rate (at most 16 kHz) and `max_seconds` the 95th
    percentile of the durations. Columns named in `targets` become targets
    with a guessed task. The result is YAML with comments, meant to be read and edited.

    Args:
        data_path: the CSV or Parquet file.
        name: the contract name (default: the file's stem).
        image_root: the directory image paths are relative to (default: the data file's directory).
        targets: the columns to predict.
        contract_dir: where the YAML will be saved; paths in it are made relative to it (default: cwd).

    Returns:
        The contract as YAML text.

    Raises:
        DataError: the file cannot be read, or a named target is not a column.

    Example:
        >>> print(infer_contract("posters.csv", targets=["genres", "imdb_score"]))
    """
    data_path = Path(data_path).resolve()
    frame = read_sample(data_path, _INFER_ROWS)
    missing = [t for t in targets if t not in frame.columns]
    if missing:
        raise DataError(f"{data_path}: target column(s) {missing} not found; columns are {list(frame.columns)}")
    base = Path(image_root).resolve() if image_root else (data_path if data_path.is_dir() else data_path.parent)
    where = Path(contract_dir).resolve() if contract_dir else Path.cwd()
    name = name or "".join(c if c.isalnum() or c in "_.-" else "_" for c in data_path.stem)

    id_column, id_note = _guess_id(frame, exclude=set(targets))
    lines = [
        "# Data contract drafted by `braid contract infer` — check every guess, then edit.",
        f"name: {name}",
        'description: ""',
        "source:",
        f"  path: {_rel(data_path, where)}",
    ]
    if image_root:
        lines.append(f"  image_root: {_rel(base, where)}")
    lines.append(f"id_column: {json.dumps(id_column) if id_column else 'CHANGE_ME'}  # {id_note}")
    lines.append("features:")
    for column in frame.columns:
        if column == id_column or column in targets:
            continue
        modality, why, options = _guess_modality(frame[column], base)
        if modality is None:
            lines.append(f"  # - {{name: {json.dumps(column)}}}  # skipped: {why}")
            continue
        lines.append(f"  - name: {json.dumps(column)}")
        lines.append(f"    modality: {modality}  # {why}")
        lines += [f"    {key}: {json.dumps(value)}" for key, value in options.items()]
        if frame[column].isna().sum() == 0:
            lines.append("    # expect: {nullable: false}  # no missing values in the sample")
    lines.append("targets:" if targets else "targets: []  # name at least one column to predict")
    for column in targets:
        task, why, extra = _guess_task(frame[column])
        lines.append(f"  - name: {json.dumps(column)}")
        lines.append(f"    task: {task}  # {why}")
        lines += [f"    {key}: {json.dumps(value)}" for key, value in extra.items()]
        if frame[column].isna().any():
            lines.append("    expect: {nullable: true}  # some rows have no value")
    lines += [
        "split: {train: 0.7, val: 0.15, test: 0.15, seed: 0}",
        "on_bad_rows: fail  # or quarantine: set bad rows aside in quarantine.parquet and go on",
        "",
    ]
    return "\n".join(lines)


def write_inferred_contract(
    data_path: str | Path,
    out_path: str | Path,
    *,
    name: str | None = None,
    image_root: str | Path | None = None,
    targets: tuple[str, ...] | list[str] = (),
    overwrite: bool = False,
) -> Path:
    """Write `infer_contract(...)` to `out_path` (paths inside relative to it).

    Returns:
        The path written.

    Raises:
        ContractError: `out_path` exists and `overwrite` is False.
    """
    out_path = Path(out_path)
    if out_path.exists() and not overwrite:
        raise ContractError(f"{out_path}: already exists; pass overwrite=True (--force) to replace it")
    text = infer_contract(
        data_path, name=name or out_path.stem, image_root=image_root, targets=targets, contract_dir=out_path.parent
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    return out_path


def _rel(path: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(path, start)).as_posix()


def _guess_id(frame, exclude: set[str]) -> tuple[str | None, str]:
    """The unique int/string column (names with "id" first), else a nearly unique "id" column."""
    import pandas as pd

    candidates = []
    for column in frame.columns:
        values = frame[column]
        integer = pd.api.types.is_integer_dtype(values)
        text = values.dtype == object or pd.api.types.is_string_dtype(values)
        if column in exclude or values.isna().any() or not (integer or text):
            continue
        duplicates = int(values.duplicated().sum())
        named_id = column.lower() == "id" or column.lower().endswith("_id")
        if duplicates == 0 or (named_id and duplicates <= 0.01 * len(values)):
            candidates.append((duplicates, 0 if named_id else 1, 0 if integer else 1, column))
    if not candidates:
        return None, "no unique column found: add one (a row number will do)"
    duplicates, *_, column = min(candidates)
    if duplicates:
        return column, f"{duplicates} duplicate value(s) in the sample: validation will flag those rows"
    return column, "unique in the sample"


def _guess_modality(values, image_base: Path) -> tuple[str | None, str, dict]:
    """The modality a column's values look like, why, and the options the draft should set."""
    import pandas as pd

    present = values.dropna()
    if present.empty:
        return None, "every value is missing in the sample", {}
    if pd.api.types.is_bool_dtype(values):
        return "categorical", "true/false values", {}
    if pd.api.types.is_numeric_dtype(values):
        distinct = present.nunique()
        if pd.api.types.is_integer_dtype(values) and distinct <= 10:
            return "numerical", f"integers, {distinct} distinct values: maybe categorical", {}
        return "numerical", "numbers", {}
    audio = _audio_options(present, image_base)
    if audio is not None:
        return (
            "audio",
            "audio clips; sample_rate: the most common (at most 16 kHz), max_seconds: 95th percentile",
            audio,
        )
    series = _series_options(present)
    if series is not None:
        steps = "numbers" if series["channels"] == 1 else f"vectors of {series['channels']}"
        return "timeseries", f"series of {steps}; max_length: 95th percentile of the lengths", series
    return (*_guess_plain(present, image_base), {})


def _series_options(present) -> dict | None:
    """`max_length` and `channels` when nearly every cell is a list, or a JSON array, of numbers or of
    equal-length vectors, with more than one step on average; else None."""
    import pandas as pd

    sample = present.head(_INFER_ROWS)
    listy = sample.map(
        lambda v: isinstance(v, (list, tuple, np.ndarray)) or (isinstance(v, str) and v.lstrip()[:1] == "[")
    )
    if listy.mean() < 0.9:
        return None
    read = []
    for cell in sample[listy]:
        try:
            read.append(parse_series(cell))
        except SeriesProblem:
            continue
    if len(read) < 0.9 * len(sample) or np.mean([len(r) for r in read]) <= 1:
        return None
    channels = pd.Series([r.shape[1] for r in read if len(r)]).mode()
    return {"max_length": proposed_length(Counter(len(r) for r in read)), "channels": int(channels.iloc[0])}


def _audio_options(present, image_base: Path) -> dict | None:
    """`sample_rate` and `max_seconds` when the cells are WAV/FLAC/OGG bytes or paths to such files (by
    their names) under the media root, read from the first clips' headers; else None."""
    sample = present.head(_AUDIO_PROBES)
    if sample.map(lambda v: isinstance(v, (bytes, bytearray))).all():
        if not sample.map(lambda v: looks_like_audio(bytes(v))).mean() >= 0.9:
            return None
        sources = [bytes(v) for v in sample]
    elif sample.map(lambda v: isinstance(v, str) and Path(v).suffix.lower() in _AUDIO_SUFFIXES).mean() >= 0.9:
        sources = [str(image_base / v) for v in sample.astype(str) if (image_base / v).is_file()]
        if len(sources) < 0.5 * len(sample):
            return None
    else:
        return None
    headers = []
    for source in sources:
        try:
            headers.append(probe(source))
        except AudioProblem:
            continue
    if not headers:
        return None
    return {
        "sample_rate": proposed_rate([rate for rate, _ in headers]),
        "max_seconds": proposed_seconds([seconds for _, seconds in headers]),
    }


def _guess_plain(present, image_base: Path) -> tuple[str, str]:
    import pandas as pd

    if present.map(lambda v: isinstance(v, (bytes, bytearray))).all():
        return "image", "binary cells (encoded images)"
    strings = present.astype(str)
    if _looks_like_images(strings, image_base):
        return "image", f"paths to image files under {image_base.name}/"
    if strings.str.match(_DATE_PATTERN).mean() >= 0.9:
        return "datetime", "ISO dates"
    numbers = pd.to_numeric(strings, errors="coerce")
    if numbers.notna().mean() >= 0.95:
        return "numerical", "numbers written as text"
    distinct = strings.nunique()
    mean_length = strings.str.len().mean()
    mean_words = strings.str.split().str.len().mean()
    if distinct > 0.5 * len(strings) and (mean_words >= 4 or (mean_length > 30 and mean_words >= 2)):
        return "text", f"free text, mean {mean_length:.0f} characters"
    if distinct <= max(50, 0.05 * len(strings)):
        return "categorical", f"{distinct} distinct values"
    return "categorical", f"{distinct} distinct short strings (high cardinality: maybe text)"


def _looks_like_images(strings, image_base: Path) -> bool:
    sample = strings.head(50)
    suffix_ok = sample.map(lambda v: Path(v).suffix.lower() in _IMAGE_SUFFIXES).mean() >= 0.9
    return bool(suffix_ok) and sample.map(lambda v: (image_base / v).is_file()).mean() >= 0.5


def _guess_task(values) -> tuple[str, str, dict]:
    import pandas as pd

    present = values.dropna()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        distinct = present.nunique()
        integer = pd.api.types.is_integer_dtype(values) or bool((present == present.round()).all())
        if integer and distinct <= 20:
            return "classification", f"{distinct} distinct whole numbers", {}
        return "regression", "numbers", {}
    strings = present.astype(str).str.strip()
    if strings.str.startswith("[").mean() >= 0.9:
        first = next((s for s in strings if s not in ("[]", "")), "[]")
        try:
            items = ast.literal_eval(first)
            extra: dict = {"list_format": "python_literal"}
        except (ValueError, SyntaxError):
            items, extra = json.loads(first), {"list_format": "json"}
        if items and isinstance(items[0], dict):
            extra["list_key"] = "name" if "name" in items[0] else next(iter(items[0]))
        return "multilabel", "list literals", extra
    for separator in ("|", ";"):
        if strings.str.contains(separator, regex=False).mean() >= 0.1:
            return "multilabel", f"labels joined by '{separator}'", {"separator": separator}
    return "classification", f"{strings.nunique()} distinct values", {}
