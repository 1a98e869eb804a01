"""Batch scoring flow: load the registered `champion` of a contract and score a data file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from components import pipeline
from components.data.contract import load_contract
from components.layout import Layout


@task(name="score", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def score(
    contract_path: str, data_path: str, home: str, output: str | None, alias: str, on_bad_rows: str = "fail"
) -> dict[str, Any]:
    result = pipeline.score_file(
        load_contract(contract_path),
        Layout(Path(home)),
        Path(data_path),
        Path(output) if output else None,
        alias=alias,
        on_bad_rows=on_bad_rows,
    )
    get_run_logger().info("scored %s rows with %s → %s", result.rows, result.model_uri, result.output)
    return result.to_dict()


@flow(name="braid-scoring", log_prints=True)
def scoring_pipeline(
    contract: str,
    data: str,
    output: str | None = None,
    alias: str = "champion",
    home: str | None = None,
    on_bad_rows: str = "fail",
) -> dict[str, Any]:
    """Score a CSV/Parquet file of raw rows with the contract's registered model.

    Args:
        contract: path of the data contract YAML (names the registered model).
        data: the rows to score, with the contract's feature columns.
        output: Parquet file to write (default under the Braid home's `scores/`).
        alias: registry alias of the model version to use.
        home: Braid's home directory (default `$BRAID_HOME` or `./.braid`).
        on_bad_rows: "fail" stops at rows that cannot be read, naming them; "skip" scores the others and
            gives each such row null predictions and its reason in `__error`.
    """
    home = str(Layout(Path(home)).home if home else Layout.default().home)
    result = score(str(Path(contract).resolve()), str(Path(data).resolve()), home, output, alias, on_bad_rows)
    create_markdown_artifact(
        key="scores-" + "".join(c if c.isalnum() else "-" for c in load_contract(contract).name.lower()),
        markdown=(
            f"Scored **{result['rows']}** rows with `{result['model_uri']}` → `{result['output']}`\n\n"
            + result["drift_markdown"]
        ),
        description="Batch scoring result",
    )
    return result
