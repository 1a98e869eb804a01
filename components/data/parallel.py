"""Preprocessing part by part, for many processes: the same output as `preprocess.preprocess` in one.

The source is cut into parts (`sources.source_parts`: Parquet row groups, CSV byte ranges). The split plan
(one pass over the id and target columns) and the quarantine stay global, so every row gets the split it
gets in one process. Then each part is fitted on its own (`fit_part`), the fits are merged (each fitter's
`merge`: exact, so the state is the one-process state bit for bit), and each part is transformed and
written into its own shards (`write_part`: `{split}-pNNNNN-NNNNN.tfrecord`). The records are the same as
the one-process ones, in the same order; only where shard files end differs (`shard_contents` says what
"the same" means).

Nothing here knows about a cluster: `flows/preprocessing.py` maps `fit_part` and `write_part` as Prefect
tasks on a Dask cluster; `preprocess_in_parts` runs the same steps in this process (for tests and checks).

Example:
    >>> job = start(contract, layout, data_hash="ab12")
    >>> state = merge_fits(job, [fit_part(job, part) for part in job.parts])
    >>> result = finish_parts(job, state, [write_part(job, state, part) for part in job.parts])
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from components.data.contract import Contract
from components.data.preprocess import (
    ID_KEY,
    Fits,
    PreprocessResult,
    SplitPlan,
    begin,
    finish,
    fit_rows,
    state_from_fits,
    write_shards,
    write_text,
)
from components.data.sources import Part, source_parts
from components.data.state import SPLITS, PreprocessState, load_manifest
from components.errors import StorageError
from components.layout import Layout


@dataclass(frozen=True)
class PreprocessJob:
    """Everything a part's task needs, sent to each worker: plain, picklable values."""

    contract: Contract
    directory: Path
    data_hash: str
    fingerprint: str
    quarantine: frozenset[str]
    plan: SplitPlan
    parts: tuple[Part, ...]
    started: float
    batch_rows: int = 10_000
    shard_rows: int = 2_000


@dataclass(frozen=True)
class PartWritten:
    """What one part wrote: rows per split, its shards, rows quarantined, tolerated problems, unseen classes."""

    rows: dict
    shards: list
    quarantined: int
    issues: Counter
    unseen: dict


def start(contract: Contract, layout: Layout, *, data_hash: str, quarantine_ids=frozenset(), batch_rows: int = 10_000,
          shard_rows: int = 2_000, part_rows: int | None = None) -> PreprocessJob | PreprocessResult:  # fmt: skip
    """The job of preprocessing a contract's data in parts, or the complete earlier result to reuse.

    Args:
        contract: the loaded contract.
        layout: where outputs go.
        data_hash: content hash of the source data (`sources.data_hash`).
        quarantine_ids: row ids to leave out (from validation).
        batch_rows: rows a part holds in memory at a time.
        shard_rows: rows per output shard.
        part_rows: rows per part (None: the contract's `preprocess.part_rows`).

    Returns:
        A `PreprocessJob` (its directory empty, the split plan made), or the `PreprocessResult` to reuse.
    """
    started = time.time()
    begun = begin(contract, layout, data_hash, quarantine_ids, batch_rows)
    if isinstance(begun, PreprocessResult):
        return begun
    directory, fingerprint, quarantine, plan = begun
    parts = tuple(source_parts(contract, part_rows or contract.preprocess.part_rows))
    return PreprocessJob(contract, directory, data_hash, fingerprint, quarantine, plan, parts, started,
                         batch_rows, shard_rows)  # fmt: skip


def fit_part(job: PreprocessJob, part: Part) -> Fits:
    """Every codec's fitter over the train rows of one part (runs on a worker)."""
    return fit_rows(job.contract, quarantine=job.quarantine, batch_rows=job.batch_rows, plan=job.plan, part=part)


def merge_fits(job: PreprocessJob, fits: list[Fits]) -> PreprocessState:
    """The state of the whole from the parts' fits (in part order), written to state.json."""
    state = state_from_fits(job.contract, fits)
    write_text(job.directory / "state.json", state.to_json())
    return state


def write_part(job: PreprocessJob, state: PreprocessState, part: Part) -> PartWritten:
    """One part's rows transformed and written to its own shards (runs on a worker, into the shared directory)."""
    try:
        rows, shards, quarantined, issues, unseen = write_shards(
            job.contract, state, job.directory, quarantine=job.quarantine, batch_rows=job.batch_rows,
            shard_rows=job.shard_rows, executor=None, plan=job.plan, part=part,
        )  # fmt: skip
    except OSError as exc:
        raise StorageError(f"{job.directory}: cannot write preprocessing output: {exc}") from None
    return PartWritten(rows, shards, quarantined, issues, unseen)


def finish_parts(job: PreprocessJob, state: PreprocessState, written: list[PartWritten]) -> PreprocessResult:
    """The manifest over every part's shards, in part order (so the rows of a split keep the source order)."""
    rows, issues, unseen = Counter(), Counter(), {}
    for part in written:
        rows.update(part.rows)
        issues.update(part.issues)
        for name, by_split in part.unseen.items():
            for split, counts in by_split.items():
                unseen.setdefault(name, {}).setdefault(split, Counter()).update(counts)
    unseen = {
        name: {split: dict(sorted(c.items())) for split, c in by_split.items()} for name, by_split in unseen.items()
    }
    shards = [shard for part in written for shard in part.shards]
    quarantined = sum(part.quarantined for part in written)
    return finish(job.contract, job.directory, state, data_hash=job.data_hash, fingerprint=job.fingerprint,
                  seconds=time.time() - job.started,
                  written=({s: rows[s] for s in SPLITS}, shards, quarantined, issues, unseen))  # fmt: skip


def preprocess_in_parts(contract: Contract, layout: Layout, *, data_hash: str, quarantine_ids=frozenset(),
                        part_rows: int | None = None, **kwargs) -> PreprocessResult:  # fmt: skip
    """`start`, each part's fit, the merge, each part's shards and the manifest, one after another here."""
    job = start(contract, layout, data_hash=data_hash, quarantine_ids=quarantine_ids, part_rows=part_rows, **kwargs)
    if isinstance(job, PreprocessResult):
        return job
    state = merge_fits(job, [fit_part(job, part) for part in job.parts])
    return finish_parts(job, state, [write_part(job, state, part) for part in job.parts])


def shard_contents(directory: str | Path) -> dict[str, dict[str, bytes]]:
    """What "the same shards" means: per split, each row's id → its serialised tf.train.Example, read back
    from the TFRecord shards the manifest lists (file boundaries and names do not count).

    Returns:
        {split: {id: serialised Example}}.
    """
    directory = Path(directory)
    manifest = load_manifest(directory)
    out: dict[str, dict[str, bytes]] = {}
    for split in SPLITS:
        rows = out.setdefault(split, {})
        for path in manifest.files(split):
            for record in tf.data.TFRecordDataset(str(directory / path)).as_numpy_iterator():
                example = tf.train.Example.FromString(record)
                rows[example.features.feature[ID_KEY].bytes_list.value[0].decode()] = record
    return out
