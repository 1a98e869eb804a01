"""The training pipeline flow: validate → preprocess → search and train → evaluate → register.

Each task is a few lines around a library function in `components/` and passes plain values
(paths, dicts) on. Run it with `braid run CONTRACT`, or as the `braid-training` deployment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from components import pipeline
from components.data.contract import load_contract
from components.errors import DataValidationError
from components.layout import Layout


def _artifact_key(prefix: str, contract: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in contract.lower())
    return f"{prefix}-{slug}"[:100]


def _cached_output_key(context: Any, parameters: dict[str, Any]) -> str | None:
    """Cache by inputs, but only while the output the cached result points at still exists."""
    layout = Layout(Path(parameters["home"]))
    name = load_contract(parameters["contract_path"]).name
    step = context.task.name
    folder = layout.validation(name, parameters["data_hash"]) if step == "validate" else layout.preprocessed(
        name, parameters["data_hash"])
    marker = folder / ("report.json" if step == "validate" else "manifest.json")
    if not marker.is_file():
        return None
    extra = str(parameters.get("quarantine_path") or "")
    return f"{step}-{parameters['contract_path']}-{parameters['data_hash']}-{parameters['home']}-{extra}"


@task(name="fingerprint", cache_policy=NO_CACHE)
def fingerprint(contract_path: str) -> str:
    """Content hash of the data and the contract: the key of everything cached downstream."""
    return pipeline.fingerprint(load_contract(contract_path))


@task(name="validate", cache_key_fn=_cached_output_key, persist_result=True, retries=1, retry_delay_seconds=5)
def validate(contract_path: str, data_hash: str, home: str) -> dict[str, Any]:
    logger = get_run_logger()
    contract = load_contract(contract_path)
    try:
        report = pipeline.validate(contract, Layout(Path(home)), data_hash)
    except DataValidationError as exc:
        create_markdown_artifact(key=_artifact_key("validation", contract.name), markdown=str(exc),
                                 description=f"Validation of {contract.name} FAILED")
        raise
    create_markdown_artifact(key=_artifact_key("validation", contract.name), markdown=report["summary_markdown"],
                             description=f"Validation of {contract.name}")
    logger.info("validation passed: %s rows, %s quarantined", report["n_rows"], report["n_quarantined"])
    return report


@task(name="preprocess", cache_key_fn=_cached_output_key, persist_result=True, retries=1, retry_delay_seconds=5)
def preprocess(contract_path: str, data_hash: str, home: str, quarantine_path: str | None) -> dict[str, Any]:
    result = pipeline.preprocess(load_contract(contract_path), Layout(Path(home)), data_hash, quarantine_path)
    get_run_logger().info("preprocessed into %s (%s)", result["directory"],
                          "reused" if result["reused"] else "written")
    return result


@task(name="open-tracking-run", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def open_run(contract_path: str, data_hash: str, home: str, settings: dict[str, Any],
             validation: dict[str, Any], prepared: dict[str, Any]) -> dict[str, Any]:
    run = pipeline.open_tracking_run(load_contract(contract_path), Layout(Path(home)), data_hash, settings,
                                     validation, prepared)
    if run["resumed"]:
        get_run_logger().info("resuming unfinished run %s (%s stale trial runs marked KILLED)",
                              run["run_id"], run["killed_trials"])
    return run


@task(name="search-and-train", cache_policy=NO_CACHE)
def search_and_train(contract_path: str, home: str, run: dict[str, Any], prepared: dict[str, Any],
                     settings: dict[str, Any]) -> dict[str, Any]:
    contract = load_contract(contract_path)
    result = pipeline.search_and_train(contract, Layout(Path(home)), run, prepared, settings)
    create_table_artifact(key=_artifact_key("leaderboard", contract.name), table=result["leaderboard"],
                          description=f"Trials of {contract.name}, best first")
    return result


@task(name="evaluate", cache_policy=NO_CACHE, retries=1)
def evaluate(contract_path: str, home: str, run: dict[str, Any], prepared: dict[str, Any],
             trained: dict[str, Any]) -> dict[str, Any]:
    contract = load_contract(contract_path)
    result = pipeline.evaluate(contract, Layout(Path(home)), run, prepared, trained)
    create_markdown_artifact(key=_artifact_key("evaluation", contract.name), markdown=result["table_markdown"],
                             description=f"Test-split metrics of {contract.name} against trivial baselines")
    return result


@task(name="register", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=10)
def register(contract_path: str, home: str, run: dict[str, Any], prepared: dict[str, Any],
             trained: dict[str, Any], evaluated: dict[str, Any]) -> dict[str, Any]:
    contract = load_contract(contract_path)
    decision = pipeline.register(contract, Layout(Path(home)), run, prepared, trained, evaluated)
    create_markdown_artifact(key=_artifact_key("champion", contract.name), markdown=decision["markdown"],
                             description=f"Registry decision for {contract.name}")
    if run.get("ui_url"):
        create_link_artifact(key=_artifact_key("mlflow-run", contract.name), link=run["ui_url"],
                             description="The MLflow run of this pipeline run")
    return decision


@flow(name="braid-training", log_prints=True)
def training_pipeline(
    contract: str,
    max_trials: int = 3,
    epochs: int = 5,
    time_budget: float | None = None,
    tuner: str = "bayesian",
    seed: int = 0,
    batch_size: int | None = None,
    home: str | None = None,
) -> dict[str, Any]:
    """Validate, preprocess, search and train, evaluate and register one contract's model.

    Args:
        contract: path of the data contract YAML.
        max_trials: models the search may try.
        epochs: epochs per trial.
        time_budget: wall-clock seconds after which no new trial starts.
        tuner: "random", "bayesian", "hyperband" or "greedy".
        seed: seed of the search and the training.
        batch_size: rows per step; None picks one from the data size.
        home: Braid's home directory (default `$BRAID_HOME` or `./.braid`).

    Returns:
        A summary: run ids, leaderboard, metrics per task, registry decision.
    """
    settings = pipeline.RunSettings(max_trials=max_trials, epochs=epochs, time_budget=time_budget, tuner=tuner,
                                    seed=seed, batch_size=batch_size).as_dict()
    home = str(Layout(Path(home)).home if home else Layout.default().home)
    contract = str(Path(contract).resolve())
    data_hash = fingerprint(contract)
    validation = validate(contract, data_hash, home)
    prepared = preprocess(contract, data_hash, home, validation.get("quarantine_path"))
    run = open_run(contract, data_hash, home, settings, validation, prepared)
    try:
        trained = search_and_train(contract, home, run, prepared, settings)
        evaluated = evaluate(contract, home, run, prepared, trained)
        decision = register(contract, home, run, prepared, trained, evaluated)
    except BaseException as exc:
        pipeline.close_tracking_run(home, run, error=exc)
        raise
    pipeline.close_tracking_run(home, run)
    return {"run": run, "validation": validation, "prepared": prepared, "trained": trained,
            "evaluated": evaluated, "decision": decision}
