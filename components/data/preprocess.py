"""Streaming preprocessing: raw rows → TFRecord shards + tabular Parquet + state.json + manifest.json.

Two passes over the source in batches of `batch_rows` (memory stays bounded whatever the file size):

1. fit: every modality / target codec accumulates its state from the TRAIN rows only;
2. write: every row is transformed with that state and appended to its split's current shard.

Output (`layout.preprocessed(contract.name, data_hash)`):
    shards/{split}-NNNNN.tfrecord    tf.train.Example per row (images as PNG bytes)
    tabular/{split}-NNNNN.parquet    same rows: id, text, tabular columns, encoded targets (no images)
    state.json                       `PreprocessState`: what was fitted, enough to serve raw rows
    manifest.json                    `Manifest`, written last: a directory without it is incomplete

Example:
    >>> result = preprocess(load_contract("data_contracts/demo.yaml"), Layout.default(), data_hash="ab12")
    >>> result.manifest.rows   # {"train": 2100, "val": 450, "test": 450}
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import tensorflow as tf

from components.data import sources
from components.data.contract import Contract, Split, Target
from components.data.embeddings import check_versions, embed, embedding_columns
from components.data.modalities import RowError, TransformContext, codec_for, float_feature
from components.data.sources import Part, require_columns, row_ids
from components.data.state import (
    FORMAT_VERSION,
    SPLITS,
    ColumnState,
    Manifest,
    PreprocessState,
    ShardInfo,
    load_state,
)
from components.data.tasks import codec_for_target
from components.errors import DataError, StorageError
from components.layout import Layout
from components.progress import report

logger = logging.getLogger(__name__)

ID_KEY = "_id"  # every Example also carries its row id (not parsed by the default reader)


@dataclass(frozen=True)
class PreprocessResult:
    directory: Path
    manifest: Manifest
    state: PreprocessState
    reused: bool


# ------------------------------------------------------------------------------------- reading


def read_batches(contract: Contract, batch_rows: int, columns: list[str] | None = None, part: Part | None = None
                 ) -> Iterator[pd.DataFrame]:  # fmt: skip
    """The contract's columns (or `columns`), `batch_rows` rows at a time (`sources.read_batches`: the one reader),
    of the whole source or of one `part` of it (`sources.read_part`).

    CSV cells are read as strings: each modality parses its own column, as it does for served rows.
    """
    if columns is None:
        columns = contract.columns + ([contract.split.column] if contract.split.column else [])
    if not contract.source.path.exists():
        raise DataError(f"{contract.source.path}: source data not found (contract '{contract.name}', source.path)")
    require_columns(contract, columns)
    frames = (
        sources.read_batches(contract, batch_rows, columns=columns)
        if part is None
        else sources.read_part(contract, part, batch_rows, columns=columns)
    )
    for frame in frames:
        yield frame.reset_index(drop=True)


def _split_names(ids: list[str], split: Split, column: pd.Series) -> np.ndarray:
    """Each row's split as the contract's split column says."""
    names = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
    out = []
    for row_id, value in zip(ids, column.astype(object)):
        key = str(value).strip().lower() if not pd.isna(value) else ""
        if key not in names:
            raise DataError(
                f"row {row_id!r}, column '{split.column}': split value {value!r} is not one of train/val/test"
            )
        out.append(names[key])
    return np.array(out)


def _hashes(ids: list[str], seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per row, from nothing but (seed, id)."""
    return (
        np.array(
            [int.from_bytes(hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest(), "big") for i in ids],
            dtype=np.float64,
        )
        / 2.0**64
    )


def assign_splits(ids: list[str], split: Split, column: pd.Series | None = None) -> np.ndarray:
    """Each row's split: from the contract's split column, else a hash of (seed, id).

    The hash makes a row's split depend on nothing but its id, so it survives reordering, appended
    rows and reruns.
    """
    if column is not None:
        return _split_names(ids, split, column)
    u = _hashes(ids, split.seed)
    return np.where(u < split.train, "train", np.where(u < split.train + split.val, "val", "test"))


@dataclass(frozen=True)
class SplitPlan:
    """How rows get their split: the contract's split column; else, stratified on `target`, each
    class's rows ordered by the (seed, id) hash and cut by the fractions (`cuts`: class → the hash
    below which a row is train, and below which it is val); else the plain hash (`assign_splits`).

    A row's split depends on its id, the seed, its class and the hashes of that class's other rows,
    never on the order of the rows; appended rows move only rows whose hash lies near a cut.
    """

    split: Split
    target: Target | None = None
    cuts: dict = field(default_factory=dict)

    def assign(self, frame: pd.DataFrame, ids: list[str]) -> np.ndarray:
        if self.split.column:
            return _split_names(ids, self.split, frame[self.split.column])
        if self.target is None:
            return assign_splits(ids, self.split)
        u = _hashes(ids, self.split.seed)
        classes = codec_for_target(self.target).strata(frame[self.target.name].reset_index(drop=True))
        cuts = np.array([self.cuts.get(c, (np.inf, np.inf)) for c in classes]).reshape(-1, 2)
        return np.where(u < cuts[:, 0], "train", np.where(u < cuts[:, 1], "val", "test"))


_NO_CLASS = "\0 no class"  # rows with no target: a stratum of their own (pandas groups drop None)


def plan_splits(contract: Contract, *, quarantine: frozenset[str] = frozenset(), batch_rows: int = 10_000) -> SplitPlan:
    """The split plan of a contract: stratified when `split.stratify` holds, no split column is given
    and a target's task stratifies (classification: the first such target).

    The stratified plan costs one pass over the id and target columns only, keeping one float per
    row and its class (about 30 MB for 3.4 M rows) until each class's cuts are known.
    """
    split = contract.split
    stratified = [t for t in contract.targets if codec_for_target(t).stratifies]
    if split.column or not split.stratify or not stratified:
        return SplitPlan(split)
    target = stratified[0]
    codec = codec_for_target(target)
    hashes: dict = {}
    for frame in read_batches(contract, batch_rows, columns=[contract.id_column, target.name]):
        ids = row_ids(frame, contract.id_column)
        keep = np.array([i not in quarantine for i in ids], dtype=bool)
        u = _hashes([i for i, k in zip(ids, keep) if k], split.seed)
        classes = pd.Series(codec.strata(frame[target.name].loc[keep].reset_index(drop=True)), dtype=object)
        for cls, part in pd.Series(u).groupby(classes.fillna(_NO_CLASS), sort=False):
            hashes.setdefault(cls, []).append(part.to_numpy())
    cuts = {}
    for cls, parts in hashes.items():
        u = np.sort(np.concatenate(parts))
        n = len(u)
        # Every class with a row puts its first one in train; then the cumulative fractions, rounded.
        train = min(max(round(n * split.train), 1), n)
        val = min(max(round(n * (split.train + split.val)), train), n)
        cuts[None if cls == _NO_CLASS else cls] = (
            float(u[train]) if train < n else np.inf,
            float(u[val]) if val < n else np.inf,
        )
    return SplitPlan(split, target, cuts)


def _rows(contract: Contract, batch_rows: int, quarantine: frozenset[str], plan: SplitPlan, part: Part | None = None
          ) -> Iterator[tuple[pd.DataFrame, list[str], np.ndarray, int]]:  # fmt: skip
    """Batches (of the source or of `part`) with quarantined rows dropped: (frame, ids, split of each row,
    rows dropped)."""
    for frame in read_batches(contract, batch_rows, part=part):
        ids = row_ids(frame, contract.id_column)
        keep = np.array([i not in quarantine for i in ids], dtype=bool)
        dropped = int((~keep).sum())
        if dropped:
            frame = frame.loc[keep].reset_index(drop=True)
            ids = [i for i, k in zip(ids, keep) if k]
        yield frame, ids, plan.assign(frame, ids), dropped


# ------------------------------------------------------------------------------------- fitting


def fit_state(contract: Contract, *, quarantine: frozenset[str] = frozenset(), batch_rows: int = 10_000,
              plan: SplitPlan | None = None) -> PreprocessState:  # fmt: skip
    """Pass 1: fit every feature and target codec on the train rows only (`plan`: `plan_splits`'s)."""
    plan = plan or plan_splits(contract, quarantine=quarantine, batch_rows=batch_rows)
    return state_from_fits(contract, [fit_rows(contract, quarantine=quarantine, batch_rows=batch_rows, plan=plan)])


@dataclass(frozen=True)
class Fits:
    """The fitters of every feature and target after some rows (the whole source or one part)."""

    fitters: dict  # column name → its codec's fitter (`Fitter`: update, finalize, merge)
    train_rows: int


def fit_rows(contract: Contract, *, quarantine: frozenset[str], batch_rows: int, plan: SplitPlan,
             part: Part | None = None) -> Fits:  # fmt: skip
    """Every codec's fitter updated with the train rows of the source, or of one `part` of it."""
    fitters = {spec.name: codec.fitter(spec) for spec, codec in _codecs(contract)}
    train_rows, seen = 0, 0
    for frame, _, splits, _ in _rows(contract, batch_rows, quarantine, plan, part):
        seen += len(frame)
        report("preprocess", None, None, f"fitting on the train rows: {seen} rows read")
        train = frame.loc[splits == "train"]
        train_rows += len(train)
        if len(train):
            for name, fitter in fitters.items():
                fitter.update(train[name].reset_index(drop=True))
    return Fits(fitters, train_rows)


def state_from_fits(contract: Contract, fits: list[Fits]) -> PreprocessState:
    """The state fitted on the train rows of every part (`fits`, merged by each fitter's `merge`)."""
    train_rows = sum(f.train_rows for f in fits)
    if train_rows == 0:
        raise DataError(f"{contract.source.path}: no rows fall in the train split; check split fractions and data")
    embeddings = tuple(
        ColumnState(c["name"], "embedding", c["config"], c["fitted"]) for c in embedding_columns(contract.features)
    )  # fails early when an extra is missing
    fitters = {
        name: fits[0].fitters[name] if len(fits) == 1 else type(fitter).merge([f.fitters[name] for f in fits])
        for name, fitter in fits[0].fitters.items()
    }

    def column(spec) -> ColumnState:
        config = spec.model_dump(mode="json", exclude={"expect"})
        return ColumnState(
            spec.name, getattr(spec, "modality", None) or spec.task, config, fitters[spec.name].finalize()
        )

    return PreprocessState(
        contract=contract.name,
        id_column=contract.id_column,
        features=tuple(column(s) for s in contract.features),
        targets=tuple(column(t) for t in contract.targets),
        train_rows=train_rows,
        embeddings=embeddings,
    )


def _codecs(contract: Contract) -> list[tuple]:
    return [(f, codec_for(f)) for f in contract.features] + [(t, codec_for_target(t)) for t in contract.targets]


# ----------------------------------------------------------------------------------- transforms


def transform_frame(state: PreprocessState, df: pd.DataFrame, image_root: Path | None = None, *,
                    executor: Executor | None = None, row_errors: dict[int, RowError] | None = None
                    ) -> dict[str, np.ndarray]:  # fmt: skip
    """Raw rows → the x dict `records.make_dataset` yields (as numpy), for serving and checks.

    Args:
        state: the fitted state (`records.load_state(directory)`).
        df: raw rows with at least every feature column.
        image_root: directory image paths are relative to (the contract's `source.image_root`).
        executor: optional pool to decode images on.
        row_errors: None to raise a DataError at the first row that cannot be used; a dict to collect
            every such row instead ({position in `df`: RowError}; those rows are filled with zeros).

    Returns:
        {image feature: uint8 [n, H, W, 3], text feature: object [n] of str, "tabular": float32 [n, D]}.
    """
    _require(df, [c.name for c in state.features])
    for column in state.embeddings:
        check_versions(column.fitted, column.config["encoder"])
    ctx = _context(state, df, image_root, executor)
    ctx.row_errors = row_errors
    x, tabular = {}, []
    for spec, codec, fitted in state.feature_specs():
        values = codec.transform(spec, fitted, df[spec.name].reset_index(drop=True), ctx)
        if codec.slot == "tabular":
            tabular.append(values)
        else:
            x[spec.name] = values
    if tabular:
        x["tabular"] = np.concatenate(tabular, axis=1)
    for column, source, fitted in state.embedding_specs():
        x[column.name] = embed(
            source, fitted, column.config["encoder"], column.fitted["dim"], df[source.name].reset_index(drop=True), ctx
        )
    _report(ctx.issues, "transform_frame", len(df))
    return x


def encode_targets(state: PreprocessState, df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Raw target columns → the y dict `records.make_dataset` yields (as numpy)."""
    _require(df, [c.name for c in state.targets])
    ctx = _context(state, df, None, None)
    y = {spec.name: codec.transform(spec, fitted, df[spec.name].reset_index(drop=True), ctx)
         for spec, codec, fitted in state.target_specs()}  # fmt: skip
    _report(ctx.issues, "encode_targets", len(df))
    return y


def _require(df: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"rows lack column(s) {missing}; expected every feature of the contract")


def _context(state, df, image_root, executor) -> TransformContext:
    ids = row_ids(df, state.id_column) if state.id_column in df.columns else None
    return TransformContext(image_root=image_root, row_ids=ids, executor=executor)


# Features the caller blanked itself (the contribution pass): their empty cells are no news to the user.
_BLANKED: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("braid_blanked", default=frozenset())


@contextlib.contextmanager
def blanked_on_purpose(features: Iterable[str]) -> Iterator[None]:
    """Inside the block, `transform_frame` does not warn about these features' cells (the caller emptied
    them on purpose); the other features' problems still warn."""
    token = _BLANKED.set(_BLANKED.get() | frozenset(features))
    try:
        yield
    finally:
        _BLANKED.reset(token)


def _report(issues: Counter, where: str, rows: int) -> None:
    """One warning per tolerated problem: how many of the `rows` rows it touched."""
    blanked = _BLANKED.get()
    for what, count in sorted(issues.items()):
        if what.partition(": ")[0] in blanked:
            continue
        share = count / rows if rows else 0.0
        percent = f"{share:.0%}" if share >= 0.01 else "<1%"
        logger.warning("%s: %s: %s row(s) (%s of %s)", where, what, f"{count:,}", percent, f"{rows:,}")


# ------------------------------------------------------------------------------------- writing


class _ShardWriter:
    """Appends rows of one split to `{split}-NNNNN` shards, `shard_rows` rows each.

    Each shard is written under a temporary name and renamed when complete, so a killed run never
    leaves a half-written file under a final name.
    """

    def __init__(self, directory: Path, split: str, shard_rows: int, part: int | None = None) -> None:
        self.directory, self.split, self.shard_rows = directory, split, shard_rows
        # a part's shards: {split}-p{part}-NNNNN, so parts written side by side never share a name
        self.stem = split if part is None else f"{split}-p{part:05d}"
        self.index, self.rows = 0, 0
        self.writer: tf.io.TFRecordWriter | None = None
        self.tables: list[pa.Table] = []
        self.shards: list[ShardInfo] = []

    def _name(self, sub: str, suffix: str) -> Path:
        return self.directory / sub / f"{self.stem}-{self.index:05d}.{suffix}"

    def write(self, examples: list[bytes], table: pa.Table) -> None:
        start = 0
        while start < len(examples):
            if self.writer is None:
                self.writer = tf.io.TFRecordWriter(str(_temp(self._name("shards", "tfrecord"))))
            take = min(self.shard_rows - self.rows, len(examples) - start)
            for example in examples[start : start + take]:
                self.writer.write(example)
            self.tables.append(table.slice(start, take))
            self.rows += take
            start += take
            if self.rows == self.shard_rows:
                self.close()

    def close(self) -> None:
        if self.writer is None:
            return
        self.writer.close()
        record = self._name("shards", "tfrecord")
        os.replace(_temp(record), record)
        table = pa.concat_tables(self.tables)
        parquet = self._name("tabular", "parquet")
        pq.write_table(table, _temp(parquet))
        os.replace(_temp(parquet), parquet)
        for path, fmt in ((record, "tfrecord"), (parquet, "parquet")):
            self.shards.append(ShardInfo(self.split, str(path.relative_to(self.directory)), fmt, self.rows,
                                         path.stat().st_size, _sha256(path)))  # fmt: skip
        self.writer, self.tables, self.rows = None, [], 0
        self.index += 1


def _temp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _encode_batch(state: PreprocessState, frame: pd.DataFrame, ids: list[str], ctx: TransformContext
                  ) -> tuple[list[bytes], pa.Table]:  # fmt: skip
    """Serialised Examples and the tabular Parquet table of one batch of rows (one split)."""
    columns: dict[str, list] = {}
    parquet: dict[str, pa.Array] = {state.id_column: pa.array(ids, pa.string())}
    for spec, codec, fitted in state.feature_specs() + state.target_specs():
        stored = codec.encode(spec, fitted, frame[spec.name], ctx)
        columns[spec.name] = [codec.tf_feature(value) for value in stored]
        parquet.update(codec.parquet_columns(spec, fitted, stored))
    for column, source, fitted in state.embedding_specs():
        vectors = embed(source, fitted, column.config["encoder"], column.fitted["dim"], frame[source.name], ctx)
        columns[column.name] = [float_feature(v) for v in vectors]
    examples = []
    for row, row_id in enumerate(ids):
        feature = {name: values[row] for name, values in columns.items()}
        feature[ID_KEY] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[row_id.encode()]))
        # deterministic: map entries sorted by key, so the bytes (and the shards' sha256) do not depend on the
        # process's hash seed: one process or many, this run or the next, the same record is the same bytes
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        examples.append(example.SerializeToString(deterministic=True))
    return examples, pa.table(parquet)


def write_shards(contract: Contract, state: PreprocessState, directory: Path, *, quarantine: frozenset[str],
                 batch_rows: int, shard_rows: int, executor: Executor | None, plan: SplitPlan,
                 part: Part | None = None) -> tuple[dict, list, int, Counter, dict]:  # fmt: skip
    """Pass 2: transform every row (of the source, or of one `part` into that part's own shards) and write
    it to its split's shards."""
    writers = {
        split: _ShardWriter(directory, split, shard_rows, None if part is None else part.index) for split in SPLITS
    }
    rows, quarantined, issues = Counter(), 0, Counter()
    unseen = {spec.name: {split: Counter() for split in SPLITS} for spec, _, _ in state.target_specs()}
    for frame, ids, splits, dropped in _rows(contract, batch_rows, quarantine, plan, part):
        quarantined += dropped
        for split in SPLITS:
            where = np.flatnonzero(splits == split)
            if len(where) == 0:
                continue
            part = frame.iloc[where].reset_index(drop=True)
            part_ids = [ids[i] for i in where]
            ctx = TransformContext(_image_root(contract), part_ids, executor, issues)
            examples, table = _encode_batch(state, part, part_ids, ctx)
            writers[split].write(examples, table)
            for spec, codec, fitted in state.target_specs():
                unseen[spec.name][split].update(c for c in codec.unseen(fitted, part[spec.name]) if c is not None)
            rows[split] += len(examples)
        done = sum(rows.values())
        report("preprocess", done, None, f"{done} rows written to shards")
    shards = []
    for writer in writers.values():
        writer.close()
        shards += writer.shards
    unseen = {name: {split: dict(sorted(counts.items())) for split, counts in by_split.items() if counts}
              for name, by_split in unseen.items()}  # fmt: skip
    return {s: rows[s] for s in SPLITS}, shards, quarantined, issues, {k: v for k, v in unseen.items() if v}


def unseen_summary(unseen: dict[str, dict[str, dict[str, int]]]) -> list[str]:
    """One line per target whose validation or test rows hold classes the train split lacks."""
    lines = []
    for name, by_split in unseen.items():
        parts = [
            f"{sum(counts.values())} {split} row(s) of {', '.join(map(repr, list(counts)[:10]))}"
            + (f" and {len(counts) - 10} more" if len(counts) > 10 else "")
            for split, counts in by_split.items()
        ]
        lines.append(
            f"{name}: classes the train split lacks: {'; '.join(parts)} "
            "(left out of validation loss and metrics; counted as wrong in the test metrics)"
        )
    return lines


def _image_root(contract: Contract) -> Path | None:
    return getattr(contract.source, "image_base", contract.source.image_root)


def contract_fingerprint(contract: Contract, quarantine: frozenset[str]) -> str:
    """A hash of everything besides the data that changes the output."""
    # How many workers preprocess changes where shard files end, never what they hold: not part of it.
    settings = contract.model_dump(
        mode="json", exclude={"description", "contract_path", "primary_metric", "training", "preprocess"}
    )
    settings["quarantine"] = sorted(quarantine)
    # Other encoder versions make other embeddings: redo rather than reuse.
    settings["encoders"] = [c["fitted"]["fingerprint"] for c in embedding_columns(contract.features)]
    settings["format_version"] = FORMAT_VERSION
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _complete_manifest(directory: Path, data_hash: str, fingerprint: str) -> Manifest | None:
    path = directory / "manifest.json"
    try:
        manifest = Manifest.from_json(path.read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if manifest.data_hash != data_hash or manifest.fingerprint != fingerprint:
        return None
    if not (directory / "state.json").is_file():
        return None
    if any((directory / s.path).stat().st_size != s.bytes if (directory / s.path).is_file() else True
           for s in manifest.shards):  # fmt: skip
        return None
    return manifest


def preprocess(contract: Contract, layout: Layout, *, data_hash: str, quarantine_ids=frozenset(),
               batch_rows: int = 10_000, shard_rows: int = 2_000, workers: int = 2,
               executor_kind: str = "thread") -> PreprocessResult:  # fmt: skip
    """Preprocess a contract's data into shards, or reuse a complete earlier run with the same hash.

    Args:
        contract: the loaded contract.
        layout: where outputs go (`layout.preprocessed(contract.name, data_hash)`).
        data_hash: content hash of the source data (the cache key, with the contract's settings).
        quarantine_ids: row ids to leave out (from validation); counted in the manifest.
        batch_rows: rows held in memory at a time.
        shard_rows: rows per output shard.
        workers: parallel image decoders (1: decode inline).
        executor_kind: "thread" (default) or "process" pool for image decoding.

    Returns:
        A `PreprocessResult`; `reused` is True when an earlier complete run was returned as is.

    Raises:
        DataError: unreadable source, missing column, or a bad row (names file, column and row id).
        StorageError: the output directory cannot be written.
    """
    started = time.perf_counter()
    begun = begin(contract, layout, data_hash, quarantine_ids, batch_rows)
    if isinstance(begun, PreprocessResult):
        return begun
    directory, fingerprint, quarantine, plan = begun
    state = fit_state(contract, quarantine=quarantine, batch_rows=batch_rows, plan=plan)
    write_text(directory / "state.json", state.to_json())
    pool = None
    if workers > 1:
        pool = ProcessPoolExecutor(workers) if executor_kind == "process" else ThreadPoolExecutor(workers)
    try:
        rows, shards, quarantined, issues, unseen = write_shards(
            contract, state, directory, quarantine=quarantine, batch_rows=batch_rows, shard_rows=shard_rows,
            executor=pool, plan=plan,
        )  # fmt: skip
    except OSError as exc:
        raise StorageError(f"{directory}: cannot write preprocessing output: {exc}") from None
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return finish(contract, directory, state, data_hash=data_hash, fingerprint=fingerprint,
                  seconds=time.perf_counter() - started, written=(rows, shards, quarantined, issues, unseen))  # fmt: skip


def begin(contract: Contract, layout: Layout, data_hash: str, quarantine_ids, batch_rows: int
          ) -> tuple[Path, str, frozenset[str], SplitPlan] | PreprocessResult:  # fmt: skip
    """The complete earlier result to reuse, else (the output directory, now empty but for its shards/ and
    tabular/ folders; the settings' fingerprint; the quarantine; the split plan)."""
    quarantine = frozenset(str(i) for i in quarantine_ids)
    directory = layout.preprocessed(contract.name, data_hash)
    fingerprint = contract_fingerprint(contract, quarantine)
    manifest = _complete_manifest(directory, data_hash, fingerprint)
    if manifest is not None:
        logger.info("reusing preprocessed data at %s (data hash %s, complete manifest)", directory, data_hash)
        return PreprocessResult(directory, manifest, load_state(directory), reused=True)
    if directory.exists():
        logger.info("removing incomplete or stale preprocessing output at %s", directory)
        shutil.rmtree(directory)
    try:
        (directory / "shards").mkdir(parents=True)
        (directory / "tabular").mkdir()
    except OSError as exc:
        raise StorageError(f"{directory}: cannot create the preprocessing directory: {exc}") from None
    return directory, fingerprint, quarantine, plan_splits(contract, quarantine=quarantine, batch_rows=batch_rows)


def finish(contract: Contract, directory: Path, state: PreprocessState, *, data_hash: str, fingerprint: str,
           seconds: float, written: tuple[dict, list, int, Counter, dict]) -> PreprocessResult:  # fmt: skip
    """Report the tolerated problems and write the manifest (last: it marks the directory complete)."""
    rows, shards, quarantined, issues, unseen = written
    _report(issues, f"preprocess {contract.name}", sum(rows.values()))
    manifest = Manifest(
        contract=contract.name, data_hash=data_hash, fingerprint=fingerprint, rows=rows, shards=tuple(shards),
        quarantined=quarantined, issues=dict(sorted(issues.items())),
        seconds=round(seconds, 3), unseen=unseen,
    )  # fmt: skip
    write_text(directory / "manifest.json", manifest.to_json())
    logger.info("preprocessed %s: %s rows, %d quarantined, into %s", contract.name, rows, quarantined, directory)
    return PreprocessResult(directory, manifest, state, reused=False)


def write_text(path: Path, text: str) -> None:
    """Write a file whole or not at all (a temporary name, renamed)."""
    _temp(path).write_text(text, encoding="utf-8")
    os.replace(_temp(path), path)
