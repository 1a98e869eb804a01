"""The Great Expectations side of the gate: a suite built from the contract (+ an optional hand-written
`<contract>.suite.json`), run on each batch in an ephemeral context, failures turned into row issues
or column failures, and Data Docs. The only module that imports great_expectations.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from components.data.contract import Contract
from components.data.validation.rows import _short, _Tally
from components.errors import ContractError, StorageError


class _Gate:
    """An ephemeral GE context with one suite; validates batches and builds Data Docs."""

    def __init__(self, contract: Contract, header: list[str], docs_dir: Path):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.contract = contract
        self.gx = gx
        self.results: list[dict] = []
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.context.add_data_docs_site(
            "braid",
            {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        asset = self.context.data_sources.add_pandas("braid").add_dataframe_asset(contract.name)
        batch = asset.add_batch_definition_whole_dataframe("batch")
        suite = self.context.suites.add(gx.ExpectationSuite(name=contract.name))
        for expectation in _expectations(gx, contract, header) + _hand_written(gx, contract):
            suite.add_expectation(expectation)
        self.validation = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=contract.name, data=batch, suite=suite)
        )

    def run(self, frame: pd.DataFrame, tally: _Tally) -> None:
        from great_expectations.core.run_identifier import RunIdentifier

        run_id = RunIdentifier(run_name=f"batch-{len(self.results):05d}")
        result = self.validation.run(
            batch_parameters={"dataframe": frame}, result_format={"result_format": "COMPLETE"}, run_id=run_id
        )
        self.results.append(result.to_json_dict())
        for outcome in result.results:
            if not outcome.success:
                _record(outcome, frame, tally)

    def build_docs(self) -> None:
        try:
            self.context.build_data_docs(site_names=["braid"])
        except OSError as exc:
            raise StorageError(f"cannot write Data Docs: {exc}") from None


def _record(outcome, frame: pd.DataFrame, tally: _Tally) -> None:
    """Turn one failed GE expectation into row issues (values + ids) or a column failure."""
    config = outcome.expectation_config
    check, column = config.type, config.kwargs.get("column")
    info = outcome.exception_info or {}
    if info.get("raised_exception"):
        tally.column_failure(check, column, f"the expectation raised: {info.get('exception_message')}")
        return
    result = outcome.result or {}
    rows = result.get("unexpected_index_list")
    if rows and all(isinstance(r, (int, np.integer)) for r in rows):
        tally.row_issue(
            check, column, frame, rows, result.get("unexpected_list") or [None] * len(rows), _expectation_reason(config)
        )
        return
    detail = _expectation_reason(config)
    mismatched = (result.get("details") or {}).get("mismatched")
    if check == "expect_column_to_exist":
        detail = "the column is missing from the data"
    elif mismatched:
        detail = "; ".join(f"{k} columns: {', '.join(map(str, v))}" for k, v in mismatched.items() if v)
    elif "observed_value" in result:
        detail += f" (observed {_short(result['observed_value'])})"
    tally.column_failure(check, column, detail)


_REASONS = {
    "expect_column_values_to_not_be_null": "missing value",
    "expect_column_values_to_be_unique": "value repeated in another row",
    "expect_column_values_to_be_between": "outside the allowed range",
    "expect_column_values_to_be_in_set": "not an allowed value",
    "expect_column_value_lengths_to_be_between": "length outside the allowed range",
    "expect_column_values_to_be_dateutil_parseable": "not a date",
    "expect_column_values_to_match_strftime_format": "does not match the date format",
}


def _expectation_reason(config) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k not in {"column", "batch_id", "result_format"}}
    arguments = ", ".join(f"{k}={_short(v, 60)}" for k, v in kwargs.items() if v is not None)
    reason = _REASONS.get(config.type, config.type)
    return f"{reason} ({arguments})" if arguments else reason


def _expectations(gx, contract: Contract, header: list[str]) -> list:
    """The suite a contract implies, for the columns the data has (missing ones only get `to_exist`)."""
    E = gx.expectations
    suite: list = []
    if not contract.allow_extra_columns:
        columns = contract.columns + ([contract.split.column] if contract.split.column else [])
        suite.append(E.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True))
    for column in contract.columns:
        suite.append(E.ExpectColumnToExist(column=column))
    present = set(header)
    if contract.id_column in present:
        suite.append(E.ExpectColumnValuesToNotBeNull(column=contract.id_column))
        suite.append(E.ExpectColumnValuesToBeUnique(column=contract.id_column))
    specs = [(f.name, f.modality, f.expect, True) for f in contract.features]
    specs += [(t.name, "target:" + t.task, t.expect, t.allows_missing) for t in contract.targets]
    for name, kind, expect, nullable in specs:
        if name not in present:
            continue
        if not (nullable and expect.nullable):
            suite.append(E.ExpectColumnValuesToNotBeNull(column=name))
        if expect.unique:
            suite.append(E.ExpectColumnValuesToBeUnique(column=name))
        if kind in {"numerical", "target:regression"} and (expect.min is not None or expect.max is not None):
            suite.append(E.ExpectColumnValuesToBeBetween(column=name, min_value=expect.min, max_value=expect.max))
        if expect.allowed is not None and kind in {"categorical", "target:classification"}:
            suite.append(E.ExpectColumnValuesToBeInSet(column=name, value_set=list(expect.allowed)))
        if (expect.min_length is not None or expect.max_length is not None) and kind in {"text", "categorical"}:
            suite.append(
                E.ExpectColumnValueLengthsToBeBetween(
                    column=name, min_value=expect.min_length, max_value=expect.max_length
                )
            )
        if kind == "datetime":
            feature = contract.feature(name)
            if feature.datetime_format:
                suite.append(
                    E.ExpectColumnValuesToMatchStrftimeFormat(column=name, strftime_format=feature.datetime_format)
                )
            elif contract.source.resolved_format == "csv":
                suite.append(E.ExpectColumnValuesToBeDateutilParseable(column=name))
    return suite


def _hand_written(gx, contract: Contract) -> list:
    """Expectations from `<contract stem>.suite.json` beside the contract (GE's suite JSON), if any."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if contract.contract_path is None:
        return []
    path = contract.contract_path.with_name(contract.contract_path.stem + ".suite.json")
    if not path.is_file():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["expectations"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ContractError(f"{path}: not a GE suite JSON with an 'expectations' list: {exc}") from None
    expectations = []
    for i, entry in enumerate(entries):
        try:
            config = ExpectationConfiguration(
                type=entry["type"], kwargs=entry.get("kwargs", {}), meta=entry.get("meta")
            )
            expectations.append(config.to_domain_obj())
        except Exception as exc:  # GE raises its own zoo of errors for unknown types / bad kwargs
            raise ContractError(f"{path}, expectations[{i}]: {type(exc).__name__}: {exc}") from None
    return expectations
