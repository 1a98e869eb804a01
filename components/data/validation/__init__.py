"""The validation gate: a Great Expectations suite built from the contract, plus the row checks GE can't do.

`validate` streams the data in batches, runs the suite
on each batch with GE's own API (an ephemeral context, `suite.py`), checks images, numbers and text encodings
in Python (`rows.py`), and writes everything into one directory:

    out_dir/validation_results.json   GE's results, one entry per batch
    out_dir/validation_report.json    the Braid report: what failed, how many rows, examples, ids (+ summary.md)
    out_dir/data_docs/index.html      GE Data Docs
    out_dir/quarantine.parquet        rows set aside (only with `on_bad_rows: quarantine`)

Row-level problems (a bad value in one row) fail the gate, or with `on_bad_rows: quarantine` are set
aside in quarantine.parquet and counted: n_rows == n_used + n_quarantined, never a silent drop.
Column-level problems (missing column, wrong dtype, all-null or single-class target, no rows) always fail.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from components import progress
from components.data.contract import Contract
from components.data.sources import data_hash, read_batches, read_header
from components.data.validation.rows import Failure, _check_rows, _Tally
from components.data.validation.suite import _Gate
from components.errors import DataValidationError, StorageError

__all__ = ["Failure", "ValidationReport", "data_hash", "validate"]


@dataclass(frozen=True)
class ValidationReport:
    """What `validate` found. `failures` made it fail; `quarantined` were set aside instead."""

    contract: str
    data_path: Path
    success: bool
    n_rows: int
    n_used: int
    n_quarantined: int
    failures: tuple[Failure, ...]
    quarantined: tuple[Failure, ...]
    warnings: tuple[str, ...]
    results_path: Path
    data_docs_dir: Path
    quarantine_path: Path | None
    duration_s: float

    def summary_markdown(self) -> str:
        """A short Markdown summary a user can act on."""
        verdict = "passed" if self.success else "FAILED"
        lines = [
            f"## Validation {verdict}: contract `{self.contract}`",
            "",
            f"- data: `{self.data_path}`",
            f"- rows: {self.n_rows} read, {self.n_used} usable, {self.n_quarantined} quarantined"
            if self.success
            else f"- rows: {self.n_rows} read",
        ]
        if self.failures:
            lines += ["", "### Failed checks", ""] + [f"- {f.describe()}" for f in self.failures]
        if self.quarantined:
            lines += ["", f"### Quarantined rows (see `{self.quarantine_path}`)", ""]
            lines += [f"- {f.describe()}" for f in self.quarantined]
        if self.warnings:
            lines += ["", "### Warnings", ""] + [f"- {w}" for w in self.warnings]
        if not self.success:
            lines += ["", _ADVICE]
        lines += ["", f"Results: `{self.results_path}`; Data Docs: `{self.data_docs_dir / 'index.html'}`"]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))


_ADVICE = (
    "What to do: fix those rows or columns in the data, or relax the contract's `expect:` entries. "
    "Row-level problems can be set aside with `on_bad_rows: quarantine`; column-level ones always fail."
)


def validate(contract: Contract, out_dir: Path, *, batch_rows: int = 50_000) -> ValidationReport:
    """Check the contract's data with Great Expectations and Braid's row checks.

    Args:
        contract: a loaded contract (`load_contract`).
        out_dir: where results, Data Docs and the quarantine file go (created).
        batch_rows: rows read and validated at a time.

    Returns:
        The report (success is True).

    Raises:
        DataValidationError: a check failed; the message says which, where and with examples, and
            `.report` holds the full `ValidationReport`.
        DataError: the data file is missing or unreadable (the message names the row where known).
        ContractError: the hand-written `<contract>.suite.json` is malformed.

    Example:
        >>> report = validate(load_contract("data_contracts/posters.yaml"), Path("out"))
        >>> print(report.summary_markdown())
    """
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()  # GE's site builder wants an absolute directory
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{out_dir}: cannot create the validation directory: {exc}") from None
    source = contract.source.path
    header = read_header(contract)
    tally = _Tally(contract)
    gate = _Gate(contract, header, out_dir / "data_docs")

    n_rows = 0
    for frame in read_batches(contract, batch_rows):
        n_rows += len(frame)
        frame = _check_rows(contract, frame, tally)
        gate.run(frame, tally)
        progress.report("validate", n_rows, None, f"{n_rows} rows checked")
    if n_rows == 0:
        gate.run(pd.DataFrame({c: pd.Series([], dtype=object) for c in header}), tally)
        what = "the file is empty" if not header else "the file has a header but no rows"
        tally.column_failure("table_has_rows", None, f"{what}: {source}")
    tally.finish(header, n_rows)

    quarantine_path = None
    quarantined: tuple[Failure, ...] = ()
    failures = list(tally.column_failures)
    bad_rows = {r["row"] for r in tally.records}
    if contract.on_bad_rows == "quarantine" and bad_rows:
        quarantine_path = _write_quarantine(out_dir / "quarantine.parquet", tally.records)
        quarantined = tally.row_failures()
        if n_rows and len(bad_rows) == n_rows:
            failures.append(Failure("rows_usable", None, n_rows, detail="every row failed a check"))
    else:
        failures += tally.row_failures()
        bad_rows = set()

    results_path = out_dir / "validation_results.json"
    _write_json(results_path, {"contract": contract.name, "batches": gate.results})
    gate.build_docs()
    report = ValidationReport(
        contract=contract.name,
        data_path=source,
        success=not failures,
        n_rows=n_rows,
        n_used=n_rows - len(bad_rows),
        n_quarantined=len(bad_rows),
        failures=tuple(failures),
        quarantined=quarantined,
        warnings=tuple(tally.warnings),
        results_path=results_path,
        data_docs_dir=out_dir / "data_docs",
        quarantine_path=quarantine_path,
        duration_s=round(time.perf_counter() - started, 3),
    )
    _write_json(out_dir / "validation_report.json", report.to_dict())
    (out_dir / "summary.md").write_text(report.summary_markdown() + "\n", encoding="utf-8")
    if not report.success:
        raise DataValidationError(report.summary_markdown(), report)
    return report


# --- output ----------------------------------------------------------------------------------------


def _write_quarantine(path: Path, records: list[dict]) -> Path:
    schema = pa.schema(
        [
            ("row", pa.int64()),
            ("id", pa.string()),
            ("column", pa.string()),
            ("check", pa.string()),
            ("value", pa.string()),
            ("reason", pa.string()),
        ]
    )
    table = pa.Table.from_pylist(sorted(records, key=lambda r: (r["row"], r["column"])), schema=schema)
    try:
        pq.write_table(table, path)
    except OSError as exc:
        raise StorageError(f"{path}: cannot write the quarantine file: {exc}") from None
    return path


def _write_json(path: Path, payload: Any) -> None:
    try:
        path.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"{path}: cannot write: {exc}") from None
