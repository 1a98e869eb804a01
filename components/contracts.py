"""Data contracts: the YAML that says what a dataset is, parsed once into typed objects.

A contract names the source file, the id column, each feature with its modality, each target with
its task, the split, and per-column expectations. Paths in a contract are relative to the contract
file's own directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from components.errors import ContractError

Modality = Literal["image", "text", "numerical", "categorical", "datetime"]
Task = Literal["classification", "multilabel", "regression"]


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
    min_image_size: tuple[int, int] | None = None  # (width, height)
    max_image_size: tuple[int, int] | None = None  # (width, height)


class Feature(_Strict):
    """One input column and how to treat it."""

    name: str
    modality: Modality
    expect: Expectations = Expectations()
    # image
    image_size: tuple[int, int] = (64, 64)  # (height, width) the image is resized to
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
    loss_weight: float = Field(1.0, gt=0)
    expect: Expectations = Expectations()

    @model_validator(mode="after")
    def _separator_only_for_multilabel(self) -> "Target":
        if self.separator is not None and self.task != "multilabel":
            raise ValueError(f"'separator' only applies to task 'multilabel', not '{self.task}'")
        return self


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
    primary_metric: str | None = None  # e.g. "genres/micro_f1"; default: mean of every task's score
    contract_path: Path | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> "Contract":
        names = [self.id_column] + [f.name for f in self.features] + [t.name for t in self.targets]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"column '{name}' is named twice (id, features and targets must differ)")
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
        ContractError: the file is missing, is not YAML, or a key is wrong (the message names it).
    """
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"{path}: contract file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise ContractError(f"{path}: not UTF-8 text") from None
    if not isinstance(raw, dict):
        raise ContractError(f"{path}: a contract is a YAML mapping with keys name, source, id_column, features, targets")
    try:
        contract = Contract.model_validate({**raw, "contract_path": path.resolve()})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ContractError(f"{path}: {problems}") from None
    base = path.resolve().parent
    source = contract.source.model_copy(
        update={
            "path": (base / contract.source.path).resolve(),
            "image_root": (base / contract.source.image_root).resolve() if contract.source.image_root else None,
        }
    )
    return contract.model_copy(update={"source": source})
