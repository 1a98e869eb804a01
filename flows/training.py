"""The training pipeline flow: validate → preprocess → search and train → evaluate → register.

Each task is a few lines around a library step in `components.pipeline` and passes its typed record
on. The contract is loaded once, by the flow. Run it with `braid run CONTRACT`, or as the
`braid-training` deployment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run as flow_run_context
from prefect.settings import PREFECT_UI_URL

from components import pipeline
from components.data.contract import Contract, load_contract
from components.errors import DataValidationError
from components.layout import Layout
from flows.preprocessing import on_dask, preprocess_on_dask


def _artifact_key(prefix: str, contract: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in contract.lower())
    return f"{prefix}-{slug}"[:100]


def _cached_output_key(context: Any, parameters: dict[str, Any]) -> str | None:
    """Cache by inputs, but only while the output the cached result points at still exists."""
    layout = Layout(Path(parameters["home"]))
    contract: Contract = parameters["contract"]
    step = context.task.name
    folder = (layout.validation if step == "validate" else layout.preprocessed)(contract.name, parameters["data_hash"])
    marker = folder / ("validation_report.json" if step == "validate" else "manifest.json")
    if not marker.is_file():
        return None
    extra = str(parameters.get("quarantine_path") or "")
    return f"{step}-{contract.contract_path}-{parameters['data_hash']}-{parameters['home']}-{extra}"


@task(name="fingerprint", cache_policy=NO_CACHE)
def fingerprint(contract: Contract) -> str:
    """Content hash of the data and the contract: the key of everything cached downstream."""
    return pipeline.fingerprint(contract)


@task(name="validate", cache_key_fn=_cached_output_key, persist_result=True, retries=1, retry_delay_seconds=5)
def validate(contract: Contract, data_hash: str, home: str) -> pipeline.Validated:
    try:
        report = pipeline.validate(contract, Layout(Path(home)), data_hash)
    except DataValidationError as exc:
        create_markdown_artifact(
            key=_artifact_key("validation", contract.name),
            markdown=str(exc),
            description=f"Validation of {contract.name} FAILED",
        )
        raise
    create_markdown_artifact(
        key=_artifact_key("validation", contract.name),
        markdown=report.summary_markdown,
        description=f"Validation of {contract.name}",
    )
    get_run_logger().info("validation passed: %s rows, %s quarantined", report.n_rows, report.n_quarantined)
    return report


@task(name="preprocess", cache_key_fn=_cached_output_key, persist_result=True, retries=1, retry_delay_seconds=5)
def preprocess(contract: Contract, data_hash: str, home: str, quarantine_path: str | None) -> pipeline.Prepared:
    result = pipeline.preprocess(contract, Layout(Path(home)), data_hash, quarantine_path)
    get_run_logger().info("preprocessed into %s (%s)", result.directory, "reused" if result.reused else "written")
    return result


# Tracking calls retry inside `components.tracking` (the one retry layer for them): no task retries here.
@task(name="open-tracking-run", cache_policy=NO_CACHE)
def open_run(
    contract: Contract,
    data_hash: str,
    home: str,
    settings: dict[str, Any],
    validation: pipeline.Validated,
    prepared: pipeline.Prepared,
) -> pipeline.TrackingRun:
    layout = Layout(Path(home))
    run = pipeline.open_tracking_run(contract, layout, data_hash, settings, validation, prepared)
    if run.resumed:
        get_run_logger().info(
            "resuming unfinished run %s (%s stale trial runs marked KILLED)", run.run_id, run.killed_trials
        )
    _link_the_two_uis(layout, run)
    get_run_logger().info("MLflow run %s: %s", run.run_name, run.ui_url)
    return run


def _flow_run_url() -> str | None:
    """This flow run's page in the Prefect UI, when there is a UI to point at."""
    ui, flow_run_id = PREFECT_UI_URL.value(), flow_run_context.id
    return f"{ui.rstrip('/')}/runs/flow-run/{flow_run_id}" if ui and flow_run_id else None


def _link_the_two_uis(layout: Layout, run: pipeline.TrackingRun) -> None:
    """Name the flow run after the MLflow run, tag the MLflow run with the flow run, link both ways."""
    flow_run_id = flow_run_context.id
    if flow_run_id is None:
        return
    flow_run_url = _flow_run_url()
    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run_id, name=run.run_name)
    pipeline.link_flow_run(layout, run, str(flow_run_id), flow_run_url)
    create_link_artifact(
        key=_artifact_key("mlflow-run", run.experiment),
        link=run.ui_url,
        link_text=f"MLflow run {run.run_name}",
        description="This pipeline run in the MLflow UI (runs, metrics, plots, the model)",
    )


@task(name="drift", cache_policy=NO_CACHE)
def check_drift(
    contract: Contract, home: str, run: pipeline.TrackingRun, prepared: pipeline.Prepared, settings: dict[str, Any]
) -> pipeline.Drifted:
    result = pipeline.check_drift(contract, Layout(Path(home)), run, prepared, seed=settings["seed"])
    create_markdown_artifact(
        key=_artifact_key("drift", contract.name),
        markdown=result.markdown,
        description=f"{contract.name}: tonight's training rows against the champion's",
    )
    return result


@task(name="search-and-train", cache_policy=NO_CACHE)
def search_and_train(
    contract: Contract, home: str, run: pipeline.TrackingRun, prepared: pipeline.Prepared, settings: dict[str, Any]
) -> pipeline.Trained:
    result = pipeline.search_and_train(contract, Layout(Path(home)), run, prepared, settings)
    create_table_artifact(
        key=_artifact_key("leaderboard", contract.name),
        table=[{(result.objective if k == "score" else k): v for k, v in row.items()} for row in result.leaderboard],
        description=f"Trials of {contract.name}, best first, by {result.objective} "
        f"({'lower' if result.direction == 'min' else 'higher'} is better)",
    )
    return result


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(
    contract: Contract,
    home: str,
    run: pipeline.TrackingRun,
    prepared: pipeline.Prepared,
    trained: pipeline.Trained,
    settings: dict[str, Any],
) -> pipeline.Evaluated:
    result = pipeline.evaluate(contract, Layout(Path(home)), run, prepared, trained, seed=settings["seed"])
    create_markdown_artifact(
        key=_artifact_key("evaluation", contract.name),
        markdown=result.table_markdown + "\n" + result.contributions_markdown,
        description=f"Test-split metrics of {contract.name} against trivial and classical baselines",
    )
    return result


@task(name="register", cache_policy=NO_CACHE)
def register(
    contract: Contract,
    home: str,
    run: pipeline.TrackingRun,
    prepared: pipeline.Prepared,
    trained: pipeline.Trained,
    evaluated: pipeline.Evaluated,
    settings: dict[str, Any],
) -> pipeline.Decision:
    decision = pipeline.register(
        contract,
        Layout(Path(home)),
        run,
        prepared,
        trained,
        evaluated,
        require_beating_classical=settings["require_beating_classical"],
        require_beating_trivial=settings["require_beating_trivial"],
    )
    create_markdown_artifact(
        key=_artifact_key("champion", contract.name),
        markdown=decision.markdown,
        description=f"Registry decision for {contract.name}",
    )
    return decision


@task(name="report", cache_policy=NO_CACHE)
def write_report(
    contract: Contract,
    home: str,
    run: pipeline.TrackingRun,
    validated: pipeline.Validated,
    prepared: pipeline.Prepared,
    drifted: pipeline.Drifted,
    trained: pipeline.Trained,
    evaluated: pipeline.Evaluated,
    decision: pipeline.Decision,
) -> str:
    path = pipeline.write_report(
        contract,
        Layout(Path(home)),
        run,
        validated,
        prepared,
        trained,
        evaluated,
        decision,
        drift_markdown=drifted.markdown,
        flow_run_url=_flow_run_url(),
    )
    create_link_artifact(
        key=_artifact_key("report", contract.name),
        link=path.resolve().as_uri(),
        link_text=f"Run report of {run.run_name}",
        description="One self-contained HTML page: data, search, Pareto front, metrics against "
        "baselines, modality contributions, the champion decision (also the MLflow "
        "run's artifact report/run_report.html)",
    )
    return str(path)


@flow(name="braid-training", log_prints=True)
def training_pipeline(
    contract: str,
    max_trials: int | None = None,
    epochs: int | None = None,
    time_budget: float | None = None,
    tuner: str | None = None,
    seed: int | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    home: str | None = None,
) -> dict[str, Any]:
    """Validate, preprocess, search and train, evaluate and register one contract's model.

    Every search setting left None comes from the contract's `training:` section (whose defaults are
    the strong choices).

    Args:
        contract: path of the data contract YAML.
        max_trials: models the search may try.
        epochs: epochs per trial.
        time_budget: wall-clock seconds after which no new trial starts.
        tuner: "greedy", "random", "bayesian" or "hyperband".
        seed: seed of the search and the training.
        batch_size: rows per step; None picks one from the data size.
        workers: search worker processes sharing one oracle (1: trials run in this process).
        home: Braid's home directory (default `$BRAID_HOME` or `./.braid`).

    Returns:
        A summary (plain dicts of each step's record): run ids, leaderboard, metrics per task, decision.
    """
    home = str(Layout(Path(home)).home if home else Layout.default().home)
    loaded = load_contract(Path(contract).resolve())
    settings = pipeline.RunSettings.resolve(
        loaded.training,
        max_trials=max_trials,
        epochs=epochs,
        time_budget=time_budget,
        tuner=tuner,
        seed=seed,
        batch_size=batch_size,
        workers=workers,
    ).as_dict()
    data_hash = fingerprint(loaded)
    validation = validate(loaded, data_hash, home)
    # On a Dask cluster when the contract or BRAID_DASK_ADDRESS asks: the same shards' content either way.
    runner = on_dask(loaded)
    prepared = (
        preprocess(loaded, data_hash, home, validation.quarantine_path)
        if runner is None
        else preprocess_on_dask(loaded, data_hash, home, validation.quarantine_path, runner)
    )
    run = open_run(loaded, data_hash, home, settings, validation, prepared)
    try:
        drifted = check_drift(loaded, home, run, prepared, settings)
        trained = search_and_train(loaded, home, run, prepared, settings)
        evaluated = evaluate(loaded, home, run, prepared, trained, settings)
        decision = register(loaded, home, run, prepared, trained, evaluated, settings)
        report = write_report(loaded, home, run, validation, prepared, drifted, trained, evaluated, decision)
    except BaseException as exc:
        pipeline.close_tracking_run(home, run, error=exc)
        raise
    pipeline.close_tracking_run(home, run)
    steps = {
        "run": run,
        "validation": validation,
        "prepared": prepared,
        "drift": drifted,
        "trained": trained,
        "evaluated": evaluated,
        "decision": decision,
    }
    return {**{name: record.to_dict() for name, record in steps.items()}, "report": report}
