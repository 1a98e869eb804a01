"""Step 6: the run report, one self-contained HTML page a person reads (a model card), gathered from
what the other steps returned, logged to the parent MLflow run as `report/run_report.html`."""

from __future__ import annotations

import json
from pathlib import Path

from components.data.contract import Contract
from components.evaluation.report import RunReport, write_html
from components.layout import Layout
from components.pipeline.results import Decision, Evaluated, Prepared, TrackingRun, Trained, Validated
from components.pipeline.runs import environment, tracker_for

FILENAME = "run_report.html"


def how_to_score(contract: Contract, decision: Decision) -> list[str]:
    """Commands and code that score new rows with this run's model."""
    path = contract.contract_path or f"{contract.name}.yaml"
    return [
        f"braid score {path} rows.csv --output predictions.parquet   # with @champion",
        f"braid serve {path} --port 5001   # REST: POST /invocations with rows as dataframe_split",
        f"python -c \"import mlflow, pandas; print(mlflow.pyfunc.load_model('{decision.model_uri}')"
        f".predict(pandas.read_csv('rows.csv')))\"",
    ]


def write_report(
    contract: Contract,
    layout: Layout,
    run: TrackingRun,
    validated: Validated,
    prepared: Prepared,
    trained: Trained,
    evaluated: Evaluated,
    decision: Decision,
    drift_markdown: str | None = None,
    flow_run_url: str | None = None,
) -> Path:
    """Write `<search dir>/report/run_report.html`, log it to the run, and return its path."""
    search = Path(run.search_dir)
    plots = {
        "search": [str(p) for p in sorted((search / "plots").glob("*.png"))],
        "evaluation": [p for p in evaluated.plots if not p.endswith("modality_contributions.png")],
        "contributions": [p for p in evaluated.plots if p.endswith("modality_contributions.png")],
    }
    links = {"MLflow run": run.ui_url}
    if flow_run_url:
        links["Prefect flow run"] = flow_run_url
    report = RunReport(
        title=f"{contract.name}: run {run.run_name}",
        contract={
            "name": contract.name,
            "description": contract.description,
            "features": [{"name": f.name, "modality": f.modality} for f in contract.features],
            "targets": [{"name": t.name, "task": t.task} for t in contract.targets],
        },
        data={
            "source": str(contract.source.path),
            "rows read": validated.n_rows,
            "rows used": validated.n_used,
            "rows quarantined": validated.n_quarantined,
            **{f"{split} rows": n for split, n in prepared.rows.items()},
        },
        validation_markdown=validated.summary_markdown,
        data_docs=validated.data_docs_index or None,
        drift_markdown=drift_markdown,
        leaderboard=[_row(r) for r in _trials(search, trained)],
        leaderboard_objective=f"{trained.objective} ({'lower' if trained.direction == 'min' else 'higher'} is better)",
        metrics_markdown=evaluated.table_markdown,
        contributions_markdown=evaluated.contributions_markdown or None,
        decision_markdown=decision.markdown,
        how_to_score=how_to_score(contract, decision),
        environment=environment(),
        plots=plots,
        links=links,
    )
    path = write_html(report, search / "report" / FILENAME)
    tracker_for(layout).log_artifact(run.run_id, path, "report")
    return path


def _trials(search: Path, trained: Trained) -> list[dict]:
    """The leaderboard with each trial's hyperparameters (kept in `plots/trials.json` by the search)."""
    try:
        return json.loads((search / "plots" / "trials.json").read_text(encoding="utf-8"))["trials"]
    except (OSError, ValueError, KeyError):
        return trained.leaderboard


def _row(row: dict) -> dict:
    """A leaderboard row for the page: its per-head losses grouped under `metrics`."""
    metrics = {k.removeprefix("val/"): v for k, v in row.items() if k.startswith("val/")}
    plain = {k: v for k, v in row.items() if not k.startswith("val/")}
    return {**plain, "metrics": metrics} if metrics else plain
