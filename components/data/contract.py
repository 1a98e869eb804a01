"""Data contracts: the YAML that says what a dataset is, parsed once into typed objects.

A contract names the source file, the id column, each feature with its modality, each target with
its task, the split, and per-column expectations. Paths in a contract are relative to the contract
file's own directory.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator
from ruamel.yaml import YAML, CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from components.data.modalities import feature_models
from components.data.spec import Expectations, FeatureSpec, _Strict
from components.errors import ContractError
from components.features.registry import MODALITIES

Task = Literal["classification", "multilabel", "regression"]


class _LocatedError(ValueError):
    """A model-level check that knows which key is at fault, so the error can point at its line."""

    def __init__(self, loc: tuple, message: str):
        super().__init__(message)
        self.loc = loc


FEATURE_MODELS = feature_models()
# One modality's options per feature, picked by its `modality` key (a discriminated union).
Feature = Annotated[Union[FEATURE_MODELS], Field(discriminator="modality")]
_FEATURES = TypeAdapter(Feature)


def parse_feature(raw: dict[str, Any]) -> FeatureSpec:
    """A feature's options model from its contract entry (or its saved `model_dump`)."""
    return _FEATURES.validate_python(raw)


def feature_spec(**fields: Any) -> FeatureSpec:
    """A feature's spec from keyword fields, e.g. `feature_spec(name="price", modality="numerical")`."""
    return parse_feature(fields)


class Target(_Strict):
    """One column to predict and its task."""

    name: str
    task: Task
    separator: str | None = None  # multilabel: labels joined by this string ("|"); None = list column
    # multilabel cells written as a list literal, e.g. "[{'id': 16, 'name': 'Animation'}]":
    list_format: Literal["python_literal", "json"] | None = None
    list_key: str | None = None  # the key holding the label when list items are dicts
    loss_weight: float = Field(1.0, gt=0)
    # classification: what a rare class gets (`components.imbalance`; the library's ClassificationHead
    # options). threshold "auto" tunes a binary target's decision threshold on validation rows for
    # macro-F1 when its minority is rare, a number fixes it, null keeps 0.5; class_weight "auto" and null
    # leave the loss unweighted (balanced weights cost accuracy and macro-F1 where measured), "balanced"
    # weighs it by balanced class weights.
    class_weight: Literal["auto", "balanced"] | None = "auto"
    threshold: Literal["auto"] | Annotated[float, Field(gt=0, lt=1)] | None = "auto"
    expect: Expectations = Expectations()

    @model_validator(mode="after")
    def _separator_only_for_multilabel(self) -> "Target":
        for key in ("class_weight", "threshold"):  # the default comes back from a saved `model_dump`
            if getattr(self, key) != "auto" and self.task != "classification":
                raise _LocatedError((key,), f"'{key}' only applies to task 'classification', not '{self.task}'")
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
    """Either fractions + seed, or an existing column holding train/val/test.

    With fractions, `stratify` (default true) cuts the rows of each class of the first classification
    target by those fractions, so every class with a row has one in train; the column, when given, wins.
    """

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, ge=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    seed: int = 0
    column: str | None = None
    stratify: bool = Field(True, strict=True)

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


class Training(_Strict):
    """How the pipeline searches and trains (`training:`). Every default is the strong choice; the
    command line (`braid run --max-trials ...`) overrides a value for one run."""

    max_trials: int = Field(3, ge=1, le=10_000)
    epochs: int = Field(5, ge=1, le=100_000)
    time_budget: float | None = Field(None, gt=0)  # seconds: no new trial starts after it
    tuner: Literal["greedy", "random", "bayesian", "hyperband"] = "greedy"
    seed: int = 0
    batch_size: int | None = Field(None, ge=1)
    loss_weighting: Literal["static", "uncertainty", "gradnorm", "search"] = "static"
    fusion: Literal["concatenate", "attention", "gated"] | None = None  # None: searched
    # Share of training rows whose whole modality is dropped (learns to do without it); None: searched.
    modality_dropout: float | None = Field(None, ge=0, lt=1)
    ensemble_size: int = Field(3, ge=1)  # the best trials combined per head (1: the best trial alone)
    refit: bool = True  # retrain the ensemble's trials on train + validation rows after the search
    # Promote a new champion only when every head also beats its classical baseline on the holdout.
    require_beating_classical: bool = False
    # Promote no model that fails to beat the trivial baseline on some head (the first version included).
    require_beating_trivial: bool = True
    # Processes that run trials side by side, sharing one keras-tuner oracle (1: trials run in the
    # pipeline's own process). Each worker gets its share of the CPU cores, or one GPU.
    workers: int = Field(1, ge=1, le=64)
    # Per head, what is served: the network, the classical model fitted on the same split, or their
    # weighted average; `auto` chooses among the three on validation data (pipeline/head_models.py).
    head_models: Literal["auto", "network", "classical", "blend"] = "auto"
    # Where each trial trains: `none` the default device; `auto` every GPU (MirroredStrategy) when there
    # are several; `mirrored` MirroredStrategy over every GPU, or over the logical CPU devices that
    # BRAID_CPU_LOGICAL_DEVICES makes (the multi-device path tested on a CPU). The batch size is global.
    distribution: Literal["none", "auto", "mirrored"] = "none"
    # Half-precision compute with float32 weights and outputs: `float16` (GPUs, loss-scaled), `bfloat16`
    # (CPUs with bfloat16 instructions, TPUs, recent GPUs). The served model computes the same way.
    mixed_precision: Literal["none", "float16", "bfloat16"] = "none"
    # Processes that train the final model (the refit of the picked trials) together, each on its share
    # of every batch (MultiWorkerMirroredStrategy; 1: the refit runs in the pipeline's process). The
    # search's trials still run on `workers`; both may be set, they run one after the other.
    data_parallel_workers: int = Field(1, ge=1, le=64)
    # Memory bounds of the steps that read raw rows into memory (None: every row). Past a bound the step
    # reads a seeded sample, stratified on the first classification target: the classical model of each
    # head fits on at most this many rows of each split (HistGradientBoosting on flights: 200k of 235k
    # rows cost 0.001 accuracy, docs/SCALING.md), and the evaluation (its contribution pass and the gate's
    # holdout too) scores at most this many test rows.
    classical_max_rows: int | None = Field(200_000, ge=1000)
    evaluation_max_rows: int | None = Field(200_000, ge=1000)

    @model_validator(mode="after")
    def _one_way_to_use_devices(self) -> "Training":
        if self.workers > 1 and self.distribution == "mirrored":
            raise _LocatedError(
                ("distribution",),
                f"'mirrored' trains each trial on every device, 'workers: {self.workers}' gives each worker "
                "its own device: choose one (distribution: none, or workers: 1)",
            )
        if self.data_parallel_workers > 1 and self.distribution == "mirrored":
            raise _LocatedError(
                ("data_parallel_workers",),
                f"'data_parallel_workers: {self.data_parallel_workers}' refits across processes, one replica "
                "each, 'distribution: mirrored' refits on every device of one process: choose one "
                "(distribution: none, or data_parallel_workers: 1)",
            )
        if self.data_parallel_workers > 1 and not self.refit:
            raise _LocatedError(
                ("data_parallel_workers",),
                f"'data_parallel_workers: {self.data_parallel_workers}' trains the refit, and 'refit: false' "
                "skips it: set refit: true, or data_parallel_workers: 1",
            )
        return self


class Preprocess(_Strict):
    """How preprocessing runs (`preprocess:`): the output is the same whatever these say (the same
    records and state; only where shard files end differs), so neither counts in the data hash."""

    # Processes on a Dask cluster that fit and write parts of the source side by side (1: the one-process
    # path). A local cluster of this many workers is started, unless BRAID_DASK_ADDRESS names a scheduler.
    workers: int = Field(1, ge=1, le=1024)
    # Rows per part (Parquet: whole row groups of about this many rows; CSV: byte ranges cut at row ends).
    part_rows: int = Field(100_000, ge=1)


class Drift(_Strict):
    """How tonight's data may differ from the data the champion was trained on (`drift:`).

    `thresholds` overrides `components.evaluation.drift.DEFAULT_THRESHOLDS` by name (e.g. `psi: 0.3`);
    over a threshold the run warns (`on_drift: warn`, the default) or stops before training (`stop`)."""

    on_drift: Literal["warn", "stop"] = "warn"
    thresholds: dict[str, float] = Field(default_factory=dict)
    max_images: int = Field(200, ge=0)  # images (and audio clips) sampled for their statistics
    # Training rows profiled (a seeded sample past it, stratified on the class; None: every row).
    max_rows: int | None = Field(200_000, ge=1000)

    @model_validator(mode="after")
    def _known_thresholds(self) -> "Drift":
        if not self.thresholds:
            return self
        from components.evaluation.drift import DEFAULT_THRESHOLDS  # (numpy, scikit-learn: only when needed)

        for name, value in self.thresholds.items():
            if name not in DEFAULT_THRESHOLDS:
                raise _LocatedError(
                    ("thresholds", name), f"unknown drift threshold '{name}'; use one of {sorted(DEFAULT_THRESHOLDS)}"
                )
            if value < 0:
                raise _LocatedError(("thresholds", name), f"threshold {value} must be >= 0")
        return self


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
    training: Training = Training()
    preprocess: Preprocess = Preprocess()
    drift: Drift = Drift()
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

    def feature(self, name: str) -> FeatureSpec:
        return next(f for f in self.features if f.name == name)

    def features_of(self, modality: str) -> list[FeatureSpec]:
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
    root = _load_yaml(path, text)
    if not isinstance(root, dict):
        raise ContractError(
            f"{path}: a contract is a YAML mapping with keys name, source, id_column, features, targets"
        )
    raw = _plain(root)
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


def _describe(path: Path, root: Any, err: dict) -> str:
    """One pydantic error as `file line N, key.path: message`."""
    loc, options = _without_tag(tuple(err["loc"]))
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, _LocatedError):
        loc = loc + error.loc
    kind = err["type"]
    if kind == "literal_error":
        message = f"{err['input']!r} is not one of {err['ctx']['expected'].replace(chr(39), '')}"
    elif kind == "union_tag_invalid":
        loc = loc + ("modality",)
        message = f"{err['ctx']['tag']!r} is not one of {', '.join(MODALITIES)}"
    elif kind == "union_tag_not_found":
        loc, message = loc + ("modality",), f"required key is missing (one of {', '.join(MODALITIES)})"
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1], options)
        message = f"unknown key '{loc[-1]}'" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    elif kind == "missing":
        message = "required key is missing"
    else:
        message = str(error) if error is not None else err["msg"]
        message = message.removeprefix("Value error, ")
    line = _line_of(root, loc)
    where = f" line {line}" if line else ""
    return f"{path}{where}, {_key_path(loc)}: {message}"


def _load_yaml(path: Path, text: str) -> Any:
    """Round-trip YAML (ruamel keeps each key's line); a key given twice or bad syntax names its line."""
    try:
        return YAML(typ="rt").load(text)
    except DuplicateKeyError as exc:
        key = re.search(r'duplicate key "(.*?)"', str(exc.problem))
        lenient = YAML(typ="rt")
        lenient.allow_duplicate_keys = True
        parent = _mapping_at(lenient.load(text), exc.context_mark.line, ())
        loc = (parent or ()) + ((key.group(1),) if key else ())
        raise ContractError(f"{path} line {exc.problem_mark.line + 1}, {_key_path(loc)}: key given twice") from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}" if mark else ""
        raise ContractError(f"{path}{where}: not valid YAML: {exc.problem or exc}") from None
    except YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from None


def _mapping_at(node: Any, line: int, loc: tuple) -> tuple | None:
    """The key path of the mapping that starts on `line` (0-based), for the duplicate-key message."""
    if isinstance(node, CommentedMap):
        if node.lc.line == line:
            return loc
        children = node.items()
    elif isinstance(node, CommentedSeq):
        children = enumerate(node)
    else:
        return None
    for key, value in children:
        found = _mapping_at(value, line, loc + (key,))
        if found is not None:
            return found
    return None


def _plain(node: Any) -> Any:
    """ruamel's commented containers and scalars → plain dicts, lists, str, int, float, bool."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    for kind in (int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node


def _line_of(node: Any, loc: tuple) -> int | None:
    """The 1-based line of the deepest YAML key or item that `loc` (a pydantic loc) reaches."""
    line = node.lc.line + 1 if isinstance(node, (CommentedMap, CommentedSeq)) else None
    for part in loc:
        if isinstance(node, CommentedMap) and str(part) in node:
            line = node.lc.key(str(part))[0] + 1
            node = node[str(part)]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            return line
    return line


def _without_tag(loc: tuple) -> tuple[tuple, Any]:
    """A pydantic loc without the modality tag a discriminated union inserts after `features[i]`, and
    the options model that tag names (None when the loc is not inside a feature)."""
    if len(loc) >= 3 and loc[0] == "features" and isinstance(loc[1], int) and loc[2] in MODALITIES:
        return loc[:2] + loc[3:], MODALITIES[loc[2]].options
    return loc, None


def _allowed_keys(loc: tuple, options: Any = None) -> list[str]:
    """The keys the model at `loc` accepts (a feature's: its modality's options), to suggest the right spelling."""
    model: Any = Contract
    if options is not None:  # inside features[i]: that feature's modality options
        model, loc = options, loc[2:]
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
