"""The pipeline's steps as plain functions: what each Prefect task of `flows/` calls.

Each step takes the contract, the layout and the plain results of earlier steps (dicts of paths and
numbers, so Prefect can persist them) and returns its own. Nothing here imports Prefect.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components import evaluation
from components.data import records
from components.data.contract import Contract
from components.automl.export import load_model
from components.errors import BraidError, DataError, TrackingError
from components.layout import Layout, check_writable
from components.serving import PROBA_SUFFIX, ServingConfig, TargetInfo
from components.tracking import RUN_KEY_TAG, Tracker, TrackingConfig

log = logging.getLogger(__name__)
CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass(frozen=True)
class RunSettings:
    """The search budget of one pipeline run."""

    max_trials: int = 3
    epochs: int = 5
    time_budget: float | None = None
    tuner: str = "bayesian"
    seed: int = 0
    batch_size: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def experiment_name(contract: Contract) -> str:
    return f"braid-{contract.name}"


def registered_name(contract: Contract) -> str:
    return f"braid-{contract.name}"


def _tracker(layout: Layout) -> Tracker:
    return Tracker(TrackingConfig.from_env(layout))


# ------------------------------------------------------------------------------ validate, preprocess
def fingerprint(contract: Contract) -> str:
    from components.data.validation import data_hash

    return data_hash(contract)


def validate(contract: Contract, layout: Layout, data_hash: str) -> dict[str, Any]:
    """Run the Great Expectations gate; raises DataValidationError with the summary when it fails."""
    from components.data.validation import validate as run_validation

    out_dir = layout.validation(contract.name, data_hash)
    check_writable(out_dir)
    report = run_validation(contract, out_dir)
    result = {
        "directory": str(out_dir),
        "n_rows": report.n_rows,
        "n_used": report.n_used,
        "n_quarantined": report.n_quarantined,
        "results_path": str(report.results_path),
        "data_docs_dir": str(report.data_docs_dir),
        "data_docs_index": str(Path(report.data_docs_dir) / "index.html"),
        "quarantine_path": str(report.quarantine_path) if report.quarantine_path else None,
        "summary_markdown": report.summary_markdown(),
        "warnings": list(report.warnings),
    }
    (out_dir / "report.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def quarantined_ids(quarantine_path: str | None) -> frozenset[str]:
    if not quarantine_path or not Path(quarantine_path).is_file():
        return frozenset()
    frame = pd.read_parquet(quarantine_path)
    column = "id" if "id" in frame.columns else frame.columns[0]
    return frozenset(str(v) for v in frame[column].tolist())


def preprocess(contract: Contract, layout: Layout, data_hash: str, quarantine_path: str | None) -> dict[str, Any]:
    from components.data.preprocess import preprocess as run_preprocess

    check_writable(layout.preprocessed(contract.name, data_hash))
    result = run_preprocess(contract, layout, data_hash=data_hash, quarantine_ids=quarantined_ids(quarantine_path))
    return {"directory": str(result.directory), "reused": result.reused, "rows": dict(result.manifest.rows),
            "quarantined": result.manifest.quarantined, "issues": dict(result.manifest.issues)}


# ------------------------------------------------------------------------------------------ tracking
def _code_version() -> str:
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=5, check=False)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _environment() -> dict[str, str]:
    from importlib.metadata import version

    env = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("tensorflow", "keras", "keras-tuner", "mlflow", "prefect", "great-expectations"):
        try:
            env[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing optional package is simply not recorded
            env[name] = "absent"
    return env


def open_tracking_run(contract: Contract, layout: Layout, data_hash: str, settings: dict[str, Any],
                      validation: dict[str, Any], prepared: dict[str, Any]) -> dict[str, Any]:
    """Start the parent MLflow run, or reopen the unfinished one of the same contract, data and budget
    (a killed run resumes: its trial runs that were left RUNNING are marked KILLED)."""
    tracker = _tracker(layout)
    experiment_id = tracker.experiment_id(experiment_name(contract))
    run_key = hashlib.sha256(json.dumps([contract.name, data_hash, settings], sort_keys=True).encode()).hexdigest()[:16]
    run_id = tracker.find_unfinished_run(experiment_id, run_key)
    resumed, killed = run_id is not None, 0
    if run_id:
        tracker.reopen_run(run_id)
        killed = tracker.mark_stale_children(run_id)
    else:
        run_id = tracker.start_run(experiment_id, f"{contract.name}-{time.strftime('%Y%m%d-%H%M%S')}", {
            RUN_KEY_TAG: run_key, "braid.contract": contract.name, "braid.data_hash": data_hash,
            "braid.code_version": _code_version(), **{f"env.{k}": v for k, v in _environment().items()},
        })
        tracker.log_params(run_id, {**settings, "contract": contract.name, "data_hash": data_hash,
                                    "rows_train": prepared["rows"].get("train"),
                                    "rows_val": prepared["rows"].get("val"),
                                    "rows_test": prepared["rows"].get("test"),
                                    "rows_quarantined": validation["n_quarantined"]})
        if contract.contract_path:
            tracker.log_artifact(run_id, Path(contract.contract_path), "contract")
        tracker.log_artifacts(run_id, Path(validation["directory"]), "validation")
        for name in ("state.json", "manifest.json"):
            tracker.log_artifact(run_id, Path(prepared["directory"]) / name, "preprocessing")
        tracker.log_dataset(run_id, _profilable(records.read_tabular(prepared["directory"], "train")),
                            source=str(contract.source.path), name=contract.name, digest=data_hash)
    search_dir = layout.search(contract.name, run_id)
    check_writable(search_dir)
    uri = tracker.config.tracking_uri
    ui_url = f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}" if uri.startswith("http") else None
    return {"run_id": run_id, "experiment_id": experiment_id, "experiment": experiment_name(contract),
            "tracking_uri": uri, "resumed": resumed, "killed_trials": killed, "search_dir": str(search_dir),
            "ui_url": ui_url}


def _profilable(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns MLflow can profile: array cells (multi-hot targets) are left out."""
    arrays = [c for c in frame.columns if len(frame) and frame[c].dtype == object and not isinstance(frame[c].iloc[0], str)]
    return frame.drop(columns=arrays)


def close_tracking_run(home: str, run: dict[str, Any], error: BaseException | None = None) -> None:
    tracker = _tracker(Layout(Path(home)))
    if error is None:
        tracker.end_run(run["run_id"], "FINISHED")
        return
    try:
        tracker.set_tags(run["run_id"], {"braid.error": f"{type(error).__name__}: {error}"[:4000]})
        # A KeyboardInterrupt/kill leaves the run resumable (KILLED); a real failure is FAILED.
        tracker.end_run(run["run_id"], "KILLED" if isinstance(error, (KeyboardInterrupt, SystemExit)) else "FAILED")
    except TrackingError as exc:
        # The store being down is often why we are here: keep the original error, not this one.
        log.warning("could not close MLflow run %s (%s); it stays open and resumable", run["run_id"], exc)


# ------------------------------------------------------------------------------------ search, train
def default_batch_size(train_rows: int) -> int:
    """Enough optimiser steps per epoch for a 5-epoch budget (about 60 or more), within 16..128."""
    return int(np.clip(2 ** int(np.log2(max(train_rows, 1) / 60)), 16, 128))


def build_automodel(contract: Contract, state: Any, search_dir: Path, settings: RunSettings,
                    observers: list[Any]) -> Any:
    """The AutoModel whose inputs/heads match the preprocessed dataset's x/y dicts."""
    import components as ak

    inputs = []
    for spec, codec, _ in state.feature_specs():
        if codec.slot == "tabular":
            continue
        node = ak.ImageInput(name=spec.name) if spec.modality == "image" else ak.TextInput(name=spec.name)
        inputs.append(node)
    if state.tabular_columns():
        inputs.append(ak.StructuredDataInput(name="tabular"))
    heads = []
    for spec, _, fitted in state.target_specs():
        # Rows missing one target still teach the other heads; the contract says which may be missing.
        masked = contract.targets[[t.name for t in contract.targets].index(spec.name)].allows_missing
        if spec.task == "regression":
            heads.append(ak.RegressionHead(name=spec.name, mask_missing=masked))
        elif spec.task == "classification":
            heads.append(ak.ClassificationHead(name=spec.name, num_classes=len(fitted["classes"]), mask_missing=masked))
        else:
            heads.append(ak.ClassificationHead(name=spec.name, multi_label=True, num_classes=len(fitted["labels"])))
    return ak.AutoModel(
        inputs=inputs, outputs=heads, directory=str(search_dir.parent), project_name=search_dir.name,
        max_trials=settings.max_trials, tuner=settings.tuner, seed=settings.seed, time_budget=settings.time_budget,
        observers=observers, overwrite=False,
        loss_weights={t.name: t.loss_weight for t in contract.targets},
    )


def search_and_train(contract: Contract, layout: Layout, run: dict[str, Any], prepared: dict[str, Any],
                     settings: dict[str, Any]) -> dict[str, Any]:
    """Search models on the train split (validation split for selection), keep and export the best."""
    config = RunSettings(**settings)
    directory = prepared["directory"]
    state = records.load_state(directory)
    batch = config.batch_size or default_batch_size(prepared["rows"]["train"])
    train = records.make_dataset(directory, "train", batch_size=batch, shuffle=True, seed=config.seed)
    val = records.make_dataset(directory, "val", batch_size=batch)
    tracker = _tracker(layout)
    observer = tracker.trial_observer(run["experiment_id"], run["run_id"])
    search_dir = Path(run["search_dir"])
    automodel = build_automodel(contract, state, search_dir, config, [observer])
    started = time.monotonic()
    automodel.fit(train, validation_data=val, epochs=config.epochs, batch_size=batch, verbose=2)
    model = automodel.export_model()
    model_path = search_dir / "best_model.keras"
    model.save(model_path)
    leaderboard = [_plain_row(row) for row in automodel.leaderboard()]
    thresholds = {h.name: [float(t) for t in h.thresholds] for h in automodel.heads if getattr(h, "thresholds", None)}
    plots = search_dir / "plots"
    evaluation.plot_trial_leaderboard(leaderboard, plots)
    best_curves = observer.history.get(leaderboard[0]["trial_id"]) if leaderboard else None
    if best_curves:
        evaluation.plot_learning_curves(best_curves, plots)
    tracker.log_artifacts(run["run_id"], plots, "search")
    tracker.log_metrics(run["run_id"], {"search_seconds": time.monotonic() - started,
                                        "trials_completed": sum(r["status"] == "COMPLETED" for r in leaderboard)})
    best = leaderboard[0] if leaderboard else {}
    tracker.log_params(run["run_id"], {f"best.{k}": v for k, v in (best.get("hyperparameters") or {}).items()})
    return {"model_path": str(model_path), "leaderboard": [{k: v for k, v in r.items() if k != "hyperparameters"}
                                                          for r in leaderboard],
            "best_hyperparameters": best.get("hyperparameters", {}), "thresholds": thresholds,
            "batch_size": batch}


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    score = row.get("score")
    return {"trial_id": str(row.get("trial_id")), "status": str(row.get("status")),
            "score": float(score) if score is not None and np.isfinite(score) else None,
            "hyperparameters": {k: v for k, v in (row.get("hyperparameters") or {}).items()}}


# --------------------------------------------------------------------------------------- evaluation
def serving_config(contract: Contract, state: Any, thresholds: dict[str, list[float]]) -> ServingConfig:
    targets = []
    for spec, _, fitted in state.target_specs():
        targets.append(TargetInfo(name=spec.name, task=spec.task,
                                  classes=list(fitted.get("classes") or fitted.get("labels") or []),
                                  thresholds=thresholds.get(spec.name, []),
                                  separator=spec.separator or "|"))
    root = contract.source.image_root
    return ServingConfig(contract=contract.name, id_column=contract.id_column,
                         feature_columns=[f.name for f in contract.features], targets=targets,
                         image_root=str(root) if root else None)


def raw_rows(contract: Contract, ids: list[str]) -> pd.DataFrame:
    """The source rows with these ids (in this order): the holdout the champion gate scores on."""
    from components.data.preprocess import read_batches, row_ids

    wanted = set(ids)
    parts = []
    for frame in read_batches(contract, 10_000):
        keep = [i in wanted for i in row_ids(frame, contract.id_column)]
        parts.append(frame[keep])
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    order = {i: n for n, i in enumerate(ids)}
    rows = rows.iloc[np.argsort([order[i] for i in row_ids(rows, contract.id_column)])].reset_index(drop=True)
    return typed_rows(contract, rows)


def typed_rows(contract: Contract, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as a caller of the served model sends them: numbers as floats, the rest as they are."""
    rows = rows.copy()
    for feature in contract.features:
        if feature.name not in rows.columns:
            continue
        if feature.modality == "numerical":
            rows[feature.name] = pd.to_numeric(rows[feature.name], errors="coerce").astype("float64")
        elif feature.modality in {"text", "categorical"}:
            rows[feature.name] = rows[feature.name].map(lambda v: v if isinstance(v, str) or _is_missing(v) else str(v))
    return rows


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def input_schema(contract: Contract, example: pd.DataFrame) -> Any:
    """The pyfunc's input schema: every feature column, numbers as doubles, all optional (a missing
    value is the model's to handle, as in training). The id is not part of it: callers key rows as
    they like, and predictions come back in row order."""
    from mlflow.types import ColSpec, Schema

    specs = []
    for feature in contract.features:
        if feature.modality == "numerical":
            kind = "double"
        elif feature.modality == "image" and len(example) and isinstance(example[feature.name].iloc[0], bytes):
            kind = "binary"
        else:
            kind = "string"
        specs.append(ColSpec(kind, feature.name, required=False))
    return Schema(specs)


def score_holdout(contract: Contract, state: Any, predictions: pd.DataFrame, truth: dict[str, np.ndarray],
                  train_truth: dict[str, np.ndarray]) -> tuple[dict, dict, float]:
    """Per-task reports and baselines on the holdout, and the combined score (see evaluation)."""
    reports, baselines = {}, {}
    for spec, _, fitted in state.target_specs():
        y_true, y_train = truth[spec.name], train_truth[spec.name]
        if spec.task == "regression":
            y_pred = predictions[spec.name].to_numpy(dtype=np.float64)
            mask, train_mask = ~np.isnan(y_true), ~np.isnan(y_train)
            kwargs: dict[str, Any] = {}
        elif spec.task == "classification":
            y_pred = np.asarray(predictions[spec.name + PROBA_SUFFIX].tolist(), dtype=np.float64)
            mask, train_mask = y_true >= 0, y_train >= 0
            kwargs = {"classes": fitted["classes"]}
        else:
            # Score the label sets the model answers (its own tuned thresholds), not raw probabilities.
            y_pred = label_sets_to_multi_hot(predictions[spec.name], fitted["labels"], spec.separator or "|")
            mask, train_mask = np.ones(len(y_true), bool), np.ones(len(y_train), bool)
            kwargs = {"labels": fitted["labels"]}
        reports[spec.name] = evaluation.evaluate_task(spec.task, y_true[mask], y_pred[mask], **kwargs)
        baselines[spec.name] = evaluation.baseline_report(spec.task, y_train[train_mask], y_true[mask], **kwargs)
    return reports, baselines, evaluation.combined_score(reports, baselines)


def label_sets_to_multi_hot(cells: pd.Series, labels: list[str], separator: str) -> np.ndarray:
    """"a|c" cells → multi-hot rows over `labels` (unknown labels can't occur: the model names them)."""
    index = {label: i for i, label in enumerate(labels)}
    out = np.zeros((len(cells), len(labels)), np.float64)
    for row, cell in enumerate(cells):
        for label in str(cell).split(separator) if cell else []:
            if label in index:
                out[row, index[label]] = 1.0
    return out


def _primary(contract: Contract, reports: dict, combined: float) -> float:
    if not contract.primary_metric:
        return combined
    target, _, metric = contract.primary_metric.partition("/")
    value = reports[target].metrics[metric]
    return -value if metric in {"mae", "rmse", "log_loss", "hamming_loss"} else value


def evaluate(contract: Contract, layout: Layout, run: dict[str, Any], prepared: dict[str, Any],
             trained: dict[str, Any]) -> dict[str, Any]:
    """Score the trained model on the test split: per-task metrics, baselines, plots."""
    from components.serving import predict_frame

    directory = prepared["directory"]
    state = records.load_state(directory)
    model = load_model(trained["model_path"])
    config = serving_config(contract, state, trained["thresholds"])
    ids = records.split_ids(directory, "test")
    holdout = raw_rows(contract, ids)
    predictions = predict_frame(model, state, config, holdout)
    truth = _targets(directory, "test", state)
    reports, baselines, combined = score_holdout(contract, state, predictions, truth, _targets(directory, "train", state))
    out = Path(run["search_dir"]) / "evaluation"
    plots = _plots(state, reports, predictions, truth, out)
    metrics = {f"test.{name}.{k}": v for name, r in reports.items() for k, v in r.metrics.items()}
    metrics.update({f"baseline.{name}.{k}": v for name, r in baselines.items() for k, v in r.metrics.items()})
    metrics["test.combined_score"] = combined
    primary = _primary(contract, reports, combined)
    metrics["test.primary_score"] = primary
    table = evaluation.markdown_table(reports, baselines)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float), encoding="utf-8")
    (out / "evaluation.md").write_text(table, encoding="utf-8")
    tracker = _tracker(layout)
    tracker.log_metrics(run["run_id"], metrics)
    tracker.log_artifacts(run["run_id"], out, "evaluation")
    return {"metrics": metrics, "table_markdown": table, "combined_score": combined, "primary_score": primary,
            "plots": [str(p) for p in plots], "test_rows": len(holdout)}


def _targets(directory: str, split: str, state: Any) -> dict[str, np.ndarray]:
    table = records.read_tabular(directory, split)
    out = {}
    for spec, _, _ in state.target_specs():
        column = table[spec.name]
        out[spec.name] = np.asarray(column.tolist(), dtype=np.float32 if spec.task != "classification" else np.int64)
    return out


def _plots(state: Any, reports: dict, predictions: pd.DataFrame, truth: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    plots = []
    for spec, _, fitted in state.target_specs():
        report = reports[spec.name]
        if spec.task == "classification":
            plots.append(evaluation.plot_confusion_matrix(report.confusion_matrix, report.names, out,
                                                          filename=f"{spec.name}_confusion_matrix.png"))
        elif spec.task == "multilabel":
            plots.append(evaluation.plot_per_label_f1(report.per_label_f1, report.names, out,
                                                      filename=f"{spec.name}_per_label_f1.png"))
        else:
            mask = ~np.isnan(truth[spec.name])
            plots.append(evaluation.plot_predicted_vs_actual(truth[spec.name][mask],
                                                             predictions[spec.name].to_numpy()[mask], out,
                                                             filename=f"{spec.name}_predicted_vs_actual.png"))
    return plots


# ------------------------------------------------------------------------------------------ registry
def register(contract: Contract, layout: Layout, run: dict[str, Any], prepared: dict[str, Any],
             trained: dict[str, Any], evaluated: dict[str, Any]) -> dict[str, Any]:
    """Log the pyfunc, register it as `challenger`, and promote it to `champion` only if it beats the
    current champion on the same holdout rows (both scores and the decision are logged)."""
    import mlflow
    from mlflow.models import ModelSignature, infer_signature

    directory = Path(prepared["directory"])
    state = records.load_state(directory)
    tracker = _tracker(layout)
    package = Path(run["search_dir"]) / "package"
    package.mkdir(parents=True, exist_ok=True)
    config = serving_config(contract, state, trained["thresholds"])
    (package / "serving.json").write_text(config.to_json(), encoding="utf-8")
    holdout = raw_rows(contract, records.split_ids(directory, "test"))
    example = holdout[config.feature_columns].head(5)
    from components.serving import predict_frame

    model = load_model(trained["model_path"])
    inferred = infer_signature(example, predict_frame(model, state, config, example), params={"image_root": ""})
    signature = ModelSignature(inputs=input_schema(contract, example), outputs=inferred.outputs,
                               params=inferred.params)
    model_uri = tracker.log_pyfunc(
        run["run_id"], python_model=str(Path(__file__).parents[1] / "serving" / "model_code.py"),
        artifacts={"keras_model": trained["model_path"], "state": str(directory / "state.json"),
                   "serving": str(package / "serving.json")},
        signature=signature, input_example=example, code_paths=[str(Path(__file__).parents[1])],
    )
    name = registered_name(contract)
    version = tracker.register(model_uri, name, tags={"braid.data_hash": directory.name})
    tracker.set_alias(name, CHALLENGER, version)
    new_score = evaluated["primary_score"]
    champion = tracker.alias_version(name, CHAMPION)
    champion_score = None
    if champion is None:
        promote, reason = True, "no champion yet"
    else:
        truth = _targets(str(directory), "test", state)
        train_truth = _targets(str(directory), "train", state)
        try:
            mlflow.set_tracking_uri(tracker.config.tracking_uri)
            current = mlflow.pyfunc.load_model(tracker.model_uri(name, CHAMPION))
            reports, _, combined = score_holdout(contract, state, current.predict(holdout), truth, train_truth)
            champion_score = _primary(contract, reports, combined)
            promote = new_score > champion_score
            reason = (f"challenger {new_score:.4f} {'>' if promote else '<='} champion v{champion} "
                      f"{champion_score:.4f} on the same {len(holdout)} holdout rows")
        except (BraidError, KeyError, ValueError, OSError) as exc:
            promote, reason = True, f"current champion v{champion} cannot score this holdout ({exc}); replaced"
    if promote:
        tracker.set_alias(name, CHAMPION, version)
    decision = {"registered_model": name, "version": version, "promoted": promote, "reason": reason,
                "challenger_score": new_score, "champion_score": champion_score,
                "previous_champion": champion, "model_uri": model_uri}
    tracker.set_tags(run["run_id"], {"braid.registered_version": version, "braid.promoted": promote,
                                     "braid.decision": reason})
    tracker.log_metrics(run["run_id"], {"gate.challenger_score": new_score,
                                        **({"gate.champion_score": champion_score} if champion_score is not None
                                           else {})})
    decision["markdown"] = (f"**{name} v{version}** registered as `{CHALLENGER}`; "
                            f"{'promoted to' if promote else 'not promoted to'} `{CHAMPION}`: {reason}.")
    return decision


# ------------------------------------------------------------------------------------------- scoring
def read_rows(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        if path.suffix.lower() in {".parquet", ".pq"} or path.is_dir():
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=True)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read rows ({str(exc).splitlines()[0]})") from None


def score_file(contract: Contract, layout: Layout, data_path: Path, output: Path | None,
               alias: str = CHAMPION) -> dict[str, Any]:
    """Score a CSV/Parquet file with the registered model at `alias`; writes Parquet."""
    import mlflow

    tracker = _tracker(layout)
    name = registered_name(contract)
    if tracker.alias_version(name, alias) is None:
        raise BraidError(f"no model '{name}' has alias '{alias}' in {tracker.config.tracking_uri}: "
                         f"train one first with `braid run {contract.contract_path}`")
    rows = typed_rows(contract, read_rows(data_path))
    mlflow.set_tracking_uri(tracker.config.tracking_uri)
    uri = tracker.model_uri(name, alias)
    predictions = mlflow.pyfunc.load_model(uri).predict(rows)
    if contract.id_column in rows.columns and contract.id_column not in predictions.columns:
        predictions.insert(0, contract.id_column, rows[contract.id_column].to_numpy())
    output = output or layout.scores(contract.name) / f"{data_path.stem}-{time.strftime('%Y%m%d-%H%M%S')}.parquet"
    output.parent.mkdir(parents=True, exist_ok=True)
    predictions.to_parquet(output, index=False)
    return {"rows": len(predictions), "output": str(output), "model_uri": uri}
