"""Step 3: the AutoModel that matches the preprocessed shards, searched and exported."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import keras
import numpy as np

from components import evaluation
from components.automl.adapters import default_batch_size
from components.automl.objective import COMBINED_OBJECTIVE
from components.data import records
from components.data.contract import Contract
from components.evaluation import pareto
from components.evaluation.classical import save_classical
from components.infra.processes import release_freed_memory
from components.layout import Layout
from components.pipeline import head_models
from components.pipeline.results import Prepared, RunSettings, TrackingRun, Trained
from components.pipeline.runs import tracker_for
from components.pipeline.warm import warm_start
from components.progress import SearchProgress, report

CLASSICAL_BASELINES = "classical_baselines.skops"  # in the search dir: `Trained.classical_path`

log = logging.getLogger(__name__)


def build_automodel(
    contract: Contract,
    state: Any,
    search_dir: Path,
    settings: RunSettings,
    observers: list[Any],
    warm_start: list[dict] | None = None,
) -> Any:
    """The AutoModel whose inputs/heads match the preprocessed dataset's x/y dicts; its first trials
    are `warm_start`'s configurations (earlier runs' best, see `warm.py`)."""
    import components as ak

    inputs, encoded = [], []
    embeddings = {column.config["source"]: column.name for column in state.embeddings}
    for spec, codec, _ in state.feature_specs():
        if codec.slot == "tabular":
            continue
        branches = {}
        encoders = getattr(spec, "encoders", ["scratch"])  # a modality without pretrained encoders trains its own
        if "scratch" in encoders:
            node = getattr(ak, codec.library_input)(name=spec.name, **codec.library_input_options(spec))
            block, options = codec.library_block(spec)
            inputs.append(node)
            branches["scratch"] = getattr(ak, block)(**options)(node)
        if spec.name in embeddings:  # frozen pretrained embeddings, computed in preprocessing
            vector = ak.Input(name=embeddings[spec.name])
            inputs.append(vector)
            branches["pretrained"] = ak.DenseBlock()(vector)
        options = [e for e in encoders if e in branches]  # the contract's order: the first is tried first
        encoded.append(
            ak.EncoderChoice(options)([branches[o] for o in options]) if len(options) > 1 else branches[options[0]]
        )
    if state.tabular_columns():
        # slots holding a category's index are embedded by the table encoder, the rest read as numbers
        categories = state.tabular_categories()
        table = ak.StructuredDataInput(
            name="tabular",
            column_names=state.tabular_columns(),
            column_types={column: "categorical" for column in categories},
            vocabularies=categories,
        )
        inputs.append(table)
        encoded.append(ak.StructuredDataBlock()(table))
    merged = (
        ak.Fusion(fusion_type=settings.fusion, modality_dropout=settings.modality_dropout)(encoded)
        if len(encoded) > 1
        else encoded[0]
    )
    # Rows missing one target still teach the other heads; the contract says which may be missing.
    targets = {t.name: t for t in contract.targets}
    heads = [
        getattr(ak, codec.head)(name=spec.name, **codec.head_options(fitted, targets[spec.name]))(merged)
        for spec, codec, fitted in state.target_specs()
    ]
    return ak.AutoModel(
        inputs=inputs,
        outputs=heads,
        directory=str(search_dir.parent),
        project_name=search_dir.name,
        max_trials=settings.max_trials,
        tuner=settings.tuner,
        seed=settings.seed,
        time_budget=settings.time_budget,
        observers=observers,
        overwrite=False,
        loss_weighting=settings.loss_weighting,
        ensemble_size=settings.ensemble_size,
        refit=settings.refit,
        loss_weights={t.name: t.loss_weight for t in contract.targets},
        warm_start=warm_start or None,
        distribution_strategy=None if settings.distribution == "none" else settings.distribution,
        mixed_precision=False if settings.mixed_precision == "none" else settings.mixed_precision,
        # the pipeline chooses per head itself, on the run's raw rows (`pipeline.head_models`); the library's
        # own choice would fit each head's trees twice more (on the train rows, then train + validation)
        head_models="network",
    )


def search_and_train(
    contract: Contract, layout: Layout, run: TrackingRun, prepared: Prepared, settings: dict[str, Any]
) -> Trained:
    """Search models on the train split (validation split for selection), keep and export the best."""
    config = RunSettings.from_dict(settings)
    directory = prepared.directory
    state = records.load_state(directory)
    train, val, batch = datasets(Path(directory), config, prepared.rows["train"])
    tracker = tracker_for(layout)
    observer = tracker.trial_observer(run.experiment_id, run.run_id)
    search_dir = Path(run.search_dir)
    warm = warm_start(contract, layout, run.experiment_id, run.run_id, config.max_trials)
    log.info("search of %s starts %s", contract.name, warm.note)
    tracker.set_tags(run.run_id, {"braid.warm_start": warm.note, "braid.warm_start.sources": ",".join(warm.sources)})
    automodel = build_automodel(
        contract,
        state,
        search_dir,
        config,
        # Keras prints nothing (verbose=0): the progress observer reports each trial, once.
        [observer, SearchProgress(config.max_trials, config.epochs, COMBINED_OBJECTIVE)],
        warm.configurations,
    )
    started = time.monotonic()
    spec = {
        "contract": str(contract.contract_path),
        "home": str(layout.home),
        "prepared": str(directory),
        "train_rows": prepared.rows["train"],
        "settings": config.as_dict(),
        "experiment_id": run.experiment_id,
        "run_id": run.run_id,
        "search_dir": str(search_dir),
    }
    if config.data_parallel_workers > 1:
        automodel.refit_runner = _data_parallel_refit(config.data_parallel_workers, spec, search_dir)
    if config.workers > 1:
        _distributed_fit(
            automodel, spec, config.workers, search_dir, tracker, run.run_id, train, val, batch, config.epochs
        )
    else:
        automodel.fit(train, validation_data=val, epochs=config.epochs, batch_size=batch, verbose=0)
    # The search's cached examples are freed with the fit; without this their pages stay resident through the
    # head choice and the evaluation (flights x10: `braid run` peaked there at 1.55x its x1 peak).
    release_freed_memory()
    model_path = search_dir / "best_model.keras"
    exported = automodel.export_model()
    exported.save(model_path)
    # The policy the served layers compute in (the heads' outputs are float32 whatever it is).
    policies = sorted({layer.dtype_policy.name for layer in exported.layers} - {"float32"})
    leaderboard = [_plain_row(row) for row in automodel.leaderboard()]
    thresholds = {h.name: [float(t) for t in h.thresholds] for h in automodel.heads if getattr(h, "thresholds", None)}
    report("search", detail="per head: network, classical model or blend")
    served = head_models.choose_head_models(
        contract,
        state,
        directory,
        automodel.heads,
        automodel.validation_outputs,
        config.head_models,
        config.seed,
        config.refit,
    )
    thresholds.update(served.thresholds)
    blend_dir = search_dir / "head_models"
    if served.blend is not None:
        served.blend.save(blend_dir)
    classical_path = search_dir / CLASSICAL_BASELINES
    if served.baselines:
        save_classical(served.baselines, classical_path)
    _log_head_models(tracker, run.run_id, served.choices)
    log.info("served per head: %s", ", ".join(f"{h} {c.describe()}" for h, c in served.choices.items()))
    plots = search_dir / "plots"
    objective = automodel.tuner.oracle.objective
    evaluation.plot_trial_leaderboard(leaderboard, plots, direction=objective.direction, objective=objective.name)
    curves = automodel.trial_histories()  # also the trials that search workers ran
    best_curves = curves.get(leaderboard[0]["trial_id"]) if leaderboard else None
    if best_curves:
        evaluation.plot_learning_curves(best_curves, plots)
    mark_pareto_front(leaderboard, curves, [t.name for t in contract.targets], objective.name, plots)
    tracker.log_artifacts(run.run_id, plots, "search")
    tracker.log_metrics(
        run.run_id,
        {
            "search/seconds": time.monotonic() - started,
            "search/trials_completed": sum(r["status"] == "COMPLETED" for r in leaderboard),
        },
    )
    best = leaderboard[0] if leaderboard else {}
    # What the model really ran on (the settings say what was asked): replicas of the strategy the trials
    # trained under (None: no trial trained in this process) and the policy of the exported layers.
    devices = {"replicas": automodel.replicas, "precision_policy": ",".join(policies) or "float32"}
    tracker.log_params(
        run.run_id,
        {
            "batch_size": batch,
            **{k: v for k, v in devices.items() if v is not None},
            **{f"best.{k}": v for k, v in (best.get("hyperparameters") or {}).items()},
        },
    )
    if best:
        tracker.set_tags(run.run_id, {"braid.best_trial": best["trial_id"]})
    return Trained(
        model_path=str(model_path),
        leaderboard=[{k: v for k, v in r.items() if k != "hyperparameters"} for r in leaderboard],
        best_hyperparameters=best.get("hyperparameters", {}),
        thresholds=thresholds,
        batch_size=batch,
        objective=objective.name,
        direction=objective.direction,
        head_models={head: asdict(choice) for head, choice in served.choices.items()},
        blend_dir=str(blend_dir) if served.blend is not None else None,
        classical_path=str(classical_path) if served.baselines else None,
    )


def _log_head_models(tracker: Any, run_id: str, choices: dict[str, Any]) -> None:
    """Per head, the served model (tag `braid.head_model.<head>`) and the validation figures that chose
    it (metrics `head_model/<head>/<figure>`)."""
    tracker.set_tags(run_id, {f"braid.head_model.{head}": choice.describe() for head, choice in choices.items()})
    figures = {f"head_model/{head}/{k}": v for head, choice in choices.items() for k, v in choice.validation.items()}
    if figures:
        tracker.log_metrics(run_id, figures)


def datasets(directory: Path, config: RunSettings, train_rows: int) -> tuple[Any, Any, int]:
    """The training and validation batches of the shards in `directory`, and the batch size."""
    # The shards' shuffle order depends on TensorFlow's global seed as well as its own: fix both, so a
    # second run in the same process (a worker, a test) sees the same batches as the first.
    keras.utils.set_random_seed(config.seed)
    batch = config.batch_size or default_batch_size(train_rows)  # the library's rule
    train = records.make_dataset(directory, "train", batch_size=batch, shuffle=True, seed=config.seed)
    val = records.make_dataset(directory, "val", batch_size=batch)
    return train, val, batch


def _data_parallel_refit(count: int, spec: dict[str, Any], search_dir: Path) -> Any:
    """The refit runner of `training.data_parallel_workers` (`data_parallel`): one GPU per worker, or the cores."""
    import tensorflow as tf

    from components.pipeline.data_parallel import DataParallelRefit

    gpus = len(tf.config.list_physical_devices("GPU"))
    return DataParallelRefit(count, spec, search_dir / "data_parallel", gpus=gpus)


def _distributed_fit(
    automodel: Any,
    spec: dict[str, Any],
    count: int,
    search_dir: Path,
    tracker: Any,
    run_id: str,
    train: Any,
    val: Any,
    batch: int,
    epochs: int,
) -> None:
    """Search with `count` worker processes (`search_workers`), this process serving the oracle; then
    ensemble and refit here. Trials whose worker died are failed, in the oracle and in MLflow."""
    import tensorflow as tf

    from components.automl.tuners.distributed import CHIEF, acting_as
    from components.errors import SearchError
    from components.pipeline.search_workers import start_workers
    from components.ports import free_port

    host, port = "127.0.0.1", free_port()
    gpus = len(tf.config.list_physical_devices("GPU"))
    folder = search_dir / "workers"
    workers = start_workers(count, spec, folder, host, port, gpus)
    log.info("search of %s: %d workers on %s:%d (logs in %s)", spec["run_id"], count, host, port, folder)
    automodel.workers = workers
    try:
        with acting_as(CHIEF, host, port):
            try:
                automodel.fit(train, validation_data=val, epochs=epochs, batch_size=batch, verbose=0)
            except SearchError as error:
                crashed = workers.failures()
                if crashed:
                    raise SearchError(
                        f"{error} Search workers that failed: "
                        + "; ".join(
                            f"{tuner_id}: {tail.splitlines()[-1] if tail else 'no output'}"
                            for tuner_id, tail in crashed.items()
                        )
                        + f" (logs in {folder})."
                    ) from None
                raise
    finally:
        workers.stop()
    failed = automodel.tuner.failed_by_workers
    if failed:
        reasons = {t: automodel.tuner.oracle.trials[t].message for t in failed}
        tracker.fail_trials(run_id, reasons)


def mark_pareto_front(
    leaderboard: list[dict[str, Any]], history: dict, heads: list[str], objective: str, plots: Path
) -> None:
    """Give each trial its per-head validation losses (`val/<head>_loss`, at its best epoch) and whether
    it is on the Pareto front across heads; draw the front and keep every trial's record (with its
    hyperparameters) in `plots/trials.json`, which a later run reads to start from the best of this one."""
    points = pareto.head_losses(history, heads, objective)
    on_front = set(pareto.front(points))
    for row in leaderboard:
        row.update({f"val/{h}_loss": v for h, v in points.get(row["trial_id"], {}).items()})
        if len(heads) > 1:
            row["pareto"] = row["trial_id"] in on_front
    if leaderboard:
        pareto.plot_front(points, leaderboard[0]["trial_id"], plots)
    plots.mkdir(parents=True, exist_ok=True)
    (plots / "trials.json").write_text(
        json.dumps({"objective": objective, "heads": heads, "trials": leaderboard}, indent=1, default=str),
        encoding="utf-8",
    )


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    score = row.get("score")
    return {
        "trial_id": str(row.get("trial_id")),
        "status": str(row.get("status")),
        "score": float(score) if score is not None and np.isfinite(score) else None,
        "hyperparameters": {k: v for k, v in (row.get("hyperparameters") or {}).items()},
    }
