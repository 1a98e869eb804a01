"""Steps 1-2: the data's fingerprint, the validation gate, and preprocessing into shards.

TensorFlow is imported only by `preprocess`, so `braid validate` stays light.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from components.data.contract import Contract

if TYPE_CHECKING:
    from components.data.parallel import PreprocessJob
from components.layout import Layout, check_writable
from components.pipeline.results import Prepared, Validated

log = logging.getLogger(__name__)


def fingerprint(contract: Contract) -> str:
    """Content hash of the data and the contract: the key of everything cached downstream."""
    from components.data.sources import data_hash

    return data_hash(contract)


def validate(contract: Contract, layout: Layout, data_hash: str) -> Validated:
    """Run the Great Expectations gate; raises DataValidationError with the summary when it fails."""
    from components.data.validation import validate as run_validation

    out_dir = layout.validation(contract.name, data_hash)
    check_writable(out_dir)
    report = run_validation(contract, out_dir)
    result = Validated(
        directory=str(out_dir),
        n_rows=report.n_rows,
        n_used=report.n_used,
        n_quarantined=report.n_quarantined,
        results_path=str(report.results_path),
        data_docs_dir=str(report.data_docs_dir),
        data_docs_index=str(Path(report.data_docs_dir) / "index.html"),
        quarantine_path=str(report.quarantine_path) if report.quarantine_path else None,
        summary_markdown=report.summary_markdown(),
        warnings=list(report.warnings),
    )
    return result  # out_dir/validation_report.json is the one report (validation writes it)


def quarantined_ids(quarantine_path: str | None) -> frozenset[str]:
    if not quarantine_path or not Path(quarantine_path).is_file():
        return frozenset()
    frame = pd.read_parquet(quarantine_path)
    column = "id" if "id" in frame.columns else frame.columns[0]
    return frozenset(str(v) for v in frame[column].tolist())


def preprocess(contract: Contract, layout: Layout, data_hash: str, quarantine_path: str | None) -> Prepared:
    """Shards, state and manifest for this data (reused when a complete earlier run has the same hash)."""
    from components.data.preprocess import preprocess as run_preprocess

    check_writable(layout.preprocessed(contract.name, data_hash))
    result = run_preprocess(contract, layout, data_hash=data_hash, quarantine_ids=quarantined_ids(quarantine_path))
    return _prepared(result)


def start_preprocess_in_parts(contract: Contract, layout: Layout, data_hash: str, quarantine_path: str | None
                              ) -> PreprocessJob | Prepared:  # fmt: skip
    """The job of preprocessing this data part by part (`components.data.parallel`: the flow maps its parts
    over a cluster), or the `Prepared` of a complete earlier run with the same hash."""
    from components.data import parallel

    check_writable(layout.preprocessed(contract.name, data_hash))
    job = parallel.start(contract, layout, data_hash=data_hash, quarantine_ids=quarantined_ids(quarantine_path))
    return job if isinstance(job, parallel.PreprocessJob) else _prepared(job)


def finish_preprocess_in_parts(job: PreprocessJob, state, written: list) -> Prepared:
    """The manifest over every part's shards, as `preprocess` returns it."""
    from components.data import parallel

    return _prepared(parallel.finish_parts(job, state, written))


def _prepared(result) -> Prepared:
    from components.data.preprocess import unseen_summary

    unseen = unseen_summary(result.manifest.unseen)
    for line in unseen:  # once per run, also when the shards are reused
        log.warning("%s", line)
    return Prepared(
        directory=str(result.directory),
        reused=result.reused,
        rows=dict(result.manifest.rows),
        quarantined=result.manifest.quarantined,
        issues=dict(result.manifest.issues),
        unseen_classes=unseen,
    )
