"""What a preprocessing run fitted and wrote, and reading it back: `PreprocessState` (state.json, enough
to serve raw rows) and `Manifest` (manifest.json, written last: its presence marks a complete run).

`preprocess` writes them, `records` and the pipeline's steps read them; neither imports the other for it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from components.data.contract import Target, parse_feature
from components.data.modalities import Codec, codec_for
from components.data.spec import FeatureSpec
from components.data.tasks import codec_for_target
from components.errors import DataError

FORMAT_VERSION = 2  # 2: classification targets split stratified
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ColumnState:
    """One feature or target: its contract settings (`config`) and what was fitted on train."""

    name: str
    kind: str  # the modality (features) or the task (targets)
    config: dict
    fitted: dict


@dataclass(frozen=True)
class PreprocessState:
    """Everything fitted on the train split; serving rebuilds the exact training inputs from it."""

    contract: str
    id_column: str
    features: tuple[ColumnState, ...]
    targets: tuple[ColumnState, ...]
    train_rows: int
    format_version: int = FORMAT_VERSION
    embeddings: tuple[ColumnState, ...] = ()  # frozen pretrained embeddings (`components.data.embeddings`)

    def embedding_specs(self) -> list[tuple[ColumnState, FeatureSpec, dict]]:
        """(embedding column, the feature it embeds, that feature's fitted state) for each embedding."""
        sources = {spec.name: (spec, fitted) for spec, _, fitted in self.feature_specs()}
        return [(column, *sources[column.config["source"]]) for column in self.embeddings]

    def feature_specs(self) -> list[tuple[FeatureSpec, Codec, dict]]:
        """(contract feature, its codec, its fitted state) for each feature, in contract order."""
        specs = [parse_feature(c.config) for c in self.features]
        return [(spec, codec_for(spec), c.fitted) for spec, c in zip(specs, self.features)]

    def target_specs(self) -> list[tuple[Target, Codec, dict]]:
        specs = [Target.model_validate(c.config) for c in self.targets]
        return [(spec, codec_for_target(spec), c.fitted) for spec, c in zip(specs, self.targets)]

    def tabular_columns(self) -> list[str]:
        """Name of each slot of x["tabular"], in order (empty when no feature is tabular)."""
        return [col for spec, codec, fitted in self.feature_specs() if codec.slot == "tabular"
                for col in codec.columns(spec, fitted)]  # fmt: skip

    def tabular_categories(self) -> dict[str, list[str]]:
        """The slots of x["tabular"] that hold a category's index, each with the vocabulary it indexes."""
        return {col: vocabulary for spec, codec, fitted in self.feature_specs() if codec.slot == "tabular"
                for col, vocabulary in codec.category_indices(spec, fitted).items()}  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "PreprocessState":
        raw = json.loads(text)
        raw["features"] = tuple(ColumnState(**c) for c in raw["features"])
        raw["targets"] = tuple(ColumnState(**c) for c in raw["targets"])
        raw["embeddings"] = tuple(ColumnState(**c) for c in raw.get("embeddings", ()))
        return cls(**raw)


@dataclass(frozen=True)
class ShardInfo:
    split: str
    path: str  # relative to the preprocessed directory
    format: str  # "tfrecord" or "parquet"
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a complete preprocessing run wrote. Its presence marks the directory as complete."""

    contract: str
    data_hash: str
    fingerprint: str  # contract settings + quarantine list + format version: a change means redo
    rows: dict[str, int]
    shards: tuple[ShardInfo, ...]
    quarantined: int
    issues: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    format_version: int = FORMAT_VERSION
    # target → split → class the train split lacks → rows (masked in validation, wrong in test)
    unseen: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    def files(self, split: str, format: str = "tfrecord") -> list[str]:
        return [s.path for s in self.shards if s.split == split and s.format == format]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        raw = json.loads(text)
        raw["shards"] = tuple(ShardInfo(**s) for s in raw["shards"])
        return cls(**raw)


def load_state(directory: str | Path) -> PreprocessState:
    """The `PreprocessState` a preprocessing run saved in `directory/state.json`."""
    return PreprocessState.from_json(_read(Path(directory) / "state.json"))


def load_manifest(directory: str | Path) -> Manifest:
    """The `Manifest` of a complete preprocessing run (DataError if the run did not finish)."""
    return Manifest.from_json(_read(Path(directory) / "manifest.json"))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(
            f"{path}: not found; this directory holds no complete preprocessing run (rerun preprocess)"
        ) from None
