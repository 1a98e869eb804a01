"""Data contracts: the YAML that says what a dataset is, parsed once into typed objects.

A contract names the source file, the id column, each feature with its modality, each target with
its task, the split, and per-column expectations. Paths in a contract are relative to the contract
file's own directory.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from components.errors import ContractError

Modality = Literal["image", "text", "numerical", "categorical", "datetime"]
Task = Literal["classification", "multilabel", "regression"]


class _LocatedError(ValueError):
    """A model-level check that knows which key is at fault, so the error can point at its line."""

    def __init__(self, loc: tuple, message: str):
        super().__init__(message)
        self.loc = loc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectations(_Strict):
    """Per-column checks turned into Great Expectations expectations."""

    nullable: bool = True
    unique: bool = False
    min: float | None = None
    max: float | None = None
    allowed: list[str] | None = None
    min_length: int | None = None
    max_length: int | None = None
    image_must_decode: bool = True
    min_image_size: tuple[PositiveInt, PositiveInt] | None = None  # (width, height)
    max_image_size: tuple[PositiveInt, PositiveInt] | None = None  # (width, height)


class Feature(_Strict):
    """One input column and how to treat it."""

    name: str
    modality: Modality
    expect: Expectations = Expectations()
    # image
    image_size: tuple[PositiveInt, PositiveInt] = (64, 64)  # (height, width) the image is resized to
    # text
    max_tokens: int = Field(20_000, gt=0)
    sequence_length: int = Field(128, gt=0)
    # categorical
    max_categories: int = Field(50, gt=0)
    # datetime
    datetime_format: str | None = None


class Target(_Strict):
    """One column to predict and its task."""

    name: str
    task: Task
    separator: str | None = None  # multilabel: labels joined by this string ("|"); None = list column
    # multilabel cells written as a list literal, e.g. "[{'id': 16, 'name': 'Animation'}]":
    list_format: Literal["python_literal", "json"] | None = None
    list_key: str | None = None  # the key holding the label when list items are dicts
    loss_weight: float = Field(1.0, gt=0)
    expect: Expectations = Expectations()

    @model_validator(mode="after")
    def _separator_only_for_multilabel(self) -> "Target":
        if self.separator is not None and self.task != "multilabel":
            raise ValueError(f"'separator' only applies to task 'multilabel', not '{self.task}'")
        if self.list_format is not None and self.task != "multilabel":
            raise ValueError(f"'list_format' only applies to task 'multilabel', not '{self.task}'")
        if self.list_format is not None and self.separator is not None:
            raise ValueError("give either 'separator' or 'list_format', not both")
        if self.list_key is not None and self.list_format is None:
            raise ValueError("'list_key' needs 'list_format' (python_literal or json)")
        return self

    @property
    def allows_missing(self) -> bool:
        """Whether a row may leave this target empty.

        Classification and regression targets must be present unless the contract says
        `expect: {nullable: true}`. An empty multilabel cell is the empty label set (CSV writers leave
        "" for `[]`), so it is allowed unless the contract says `expect: {nullable: false}`.
        """
        if "nullable" in self.expect.model_fields_set:
            return self.expect.nullable
        return self.task == "multilabel"


class Split(_Strict):
    """Either fractions + seed, or an existing column holding train/val/test."""

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, ge=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    seed: int = 0
    column: str | None = None

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> "Split":
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must sum to 1, got {total:g}")
        return self


class Source(_Strict):
    """Where the rows live. `path` is a CSV or Parquet file, or a directory of Parquet shards."""

    path: Path
    format: Literal["csv", "parquet"] | None = None
    image_root: Path | None = None

    @property
    def resolved_format(self) -> str:
        if self.format:
            return self.format
        return "csv" if self.path.suffix.lower() in {".csv", ".tsv", ".txt"} else "parquet"

    @property
    def image_base(self) -> Path:
        """The directory image paths are relative to: `image_root`, else the data file's directory."""
        if self.image_root is not None:
            return self.image_root
        return self.path if self.path.is_dir() else self.path.parent


class Contract(_Strict):
    """A whole data contract. Build with `load_contract(path)`."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    source: Source
    id_column: str
    features: list[Feature] = Field(min_length=1)
    targets: list[Target] = Field(min_length=1)
    split: Split = Split()
    on_bad_rows: Literal["fail", "quarantine"] = "fail"
    allow_extra_columns: bool = True  # False: columns the contract does not name fail validation
    primary_metric: str | None = None  # e.g. "genres/micro_f1"; default: mean of every task's score
    contract_path: Path | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> "Contract":
        named = [(("id_column",), self.id_column)]
        named += [(("features", i, "name"), f.name) for i, f in enumerate(self.features)]
        named += [(("targets", i, "name"), t.name) for i, t in enumerate(self.targets)]
        seen: set[str] = set()
        for loc, name in named:
            if name in seen:
                raise _LocatedError(loc, f"column '{name}' is named twice (id, features and targets must differ)")
            seen.add(name)
        return self

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)

    def features_of(self, modality: str) -> list[Feature]:
        return [f for f in self.features if f.modality == modality]

    @property
    def columns(self) -> list[str]:
        """Every column the contract reads, id first."""
        return [self.id_column] + [f.name for f in self.features] + [t.name for t in self.targets]


def load_contract(path: str | Path) -> Contract:
    """Read and check a contract YAML file.

    Args:
        path: the YAML file.

    Returns:
        The typed contract, with `source.path` and `source.image_root` made absolute.

    Raises:
        ContractError: the file is missing, is not YAML, or a key is wrong. The message names the file,
            the line and the key, e.g. `x.yaml line 12, features[2].modality: 'vidoe' is not one of ...`.
    """
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"{path}: contract file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ContractError(f"{path}: not UTF-8 text") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}" if mark else ""
        raise ContractError(f"{path}{where}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ContractError(f"{path}: a contract is a YAML mapping with keys name, source, id_column, features, targets")
    duplicate = _duplicate_key(root, ())
    if duplicate:
        loc, line = duplicate
        raise ContractError(f"{path} line {line}, {_key_path(loc)}: key given twice")
    try:
        contract = Contract.model_validate({**raw, "contract_path": path.resolve()})
    except ValidationError as exc:
        raise ContractError("\n".join(_describe(path, root, err) for err in exc.errors())) from None
    base = path.resolve().parent
    source = contract.source.model_copy(
        update={
            "path": (base / contract.source.path).resolve(),
            "image_root": (base / contract.source.image_root).resolve() if contract.source.image_root else None,
        }
    )
    return contract.model_copy(update={"source": source})


def parse_labels(value: Any, target: Target) -> list[str] | None:
    """The labels in one multilabel cell, or None when the cell is empty.

    Args:
        value: the raw cell: "a|b" (with `separator`), a list literal (with `list_format`) or a list.
        target: the multilabel target that says how its cells are written.

    Returns:
        The labels as strings (empty list for "[]"), or None for a missing cell.

    Raises:
        ValueError: the cell is not written the way the target says.

    Example:
        >>> t = Target(name="genres", task="multilabel", list_format="python_literal", list_key="name")
        >>> parse_labels("[{'id': 16, 'name': 'Animation'}]", t)
        ['Animation']
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if target.list_format == "python_literal":
            value = ast.literal_eval(text) if text else []
        elif target.list_format == "json":
            value = json.loads(text) if text else []
        elif target.separator is not None:
            return [part.strip() for part in text.split(target.separator) if part.strip()]
        else:
            return [text] if text else []
    if isinstance(value, (str, int, float, dict)):
        value = [value]
    labels = []
    for item in value:
        if isinstance(item, dict):
            if target.list_key is None or target.list_key not in item:
                raise ValueError(f"list item {item!r} has no key {target.list_key!r} (set 'list_key')")
            item = item[target.list_key]
        if item is not None and str(item).strip():
            labels.append(str(item).strip())
    return labels


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(path: Path, root: yaml.Node | None, err: dict) -> str:
    """One pydantic error as `file line N, key.path: message`."""
    loc = tuple(err["loc"])
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, _LocatedError):
        loc = loc + error.loc
    kind = err["type"]
    if kind == "literal_error":
        message = f"{err['input']!r} is not one of {err['ctx']['expected'].replace(chr(39), '')}"
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        message = f"unknown key '{loc[-1]}'" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    elif kind == "missing":
        message = "required key is missing"
    else:
        message = str(error) if error is not None else err["msg"]
        message = message.removeprefix("Value error, ")
    line = _line_of(root, loc)
    where = f" line {line}" if line else ""
    return f"{path}{where}, {_key_path(loc)}: {message}"


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """The 1-based line of the deepest YAML node that `loc` reaches (pydantic loc → PyYAML mark)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return line
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _duplicate_key(node: yaml.Node, loc: tuple) -> tuple[tuple, int] | None:
    """PyYAML keeps the last of two equal keys silently; a contract must not."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                return loc + (key.value,), key.start_mark.line + 1
            seen.add(key.value)
            found = _duplicate_key(value, loc + (key.value,))
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = _duplicate_key(item, loc + (i,))
            if found:
                return found
    return None


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys the model at `loc` accepts, to suggest the right spelling."""
    model: Any = Contract
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part)) if isinstance(model, type) else None
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        model = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return []
    return [name for name in model.model_fields if name != "contract_path"]


# --- infer: a first draft of a contract from the data itself -------------------------------------------

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
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
    unique column (preferring names with "id") → the id. Columns named in `targets` become targets
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
    from components.errors import DataError

    data_path = Path(data_path).resolve()
    frame = _read_sample(data_path)
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
        modality, why = _guess_modality(frame[column], base)
        if modality is None:
            lines.append(f"  # - {{name: {json.dumps(column)}}}  # skipped: {why}")
            continue
        lines.append(f"  - name: {json.dumps(column)}")
        lines.append(f"    modality: {modality}  # {why}")
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


def _read_sample(path: Path):
    import pandas as pd
    import pyarrow.dataset as ds

    from components.errors import DataError

    if not path.exists():
        raise DataError(f"{path}: data file not found")
    try:
        if path.is_dir() or path.suffix.lower() in {".parquet", ".pq"}:
            return ds.dataset(path, format="parquet").head(_INFER_ROWS).to_pandas()
        return pd.read_csv(path, nrows=_INFER_ROWS, encoding_errors="replace")
    except Exception as exc:  # pandas/pyarrow raise many types; the user needs the file and the reason
        raise DataError(f"{path}: cannot read it as {'Parquet' if path.suffix != '.csv' else 'CSV'}: {exc}") from None


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


def _guess_modality(values, image_base: Path) -> tuple[str | None, str]:
    import pandas as pd

    present = values.dropna()
    if present.empty:
        return None, "every value is missing in the sample"
    if pd.api.types.is_bool_dtype(values):
        return "categorical", "true/false values"
    if pd.api.types.is_numeric_dtype(values):
        distinct = present.nunique()
        if pd.api.types.is_integer_dtype(values) and distinct <= 10:
            return "numerical", f"integers, {distinct} distinct values: maybe categorical"
        return "numerical", "numbers"
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
