"""Step 4: score the trained model on the test split, every head against its trivial baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components import evaluation
from components.automl.export import load_model
from components.data import records
from components.data.contract import Contract
from components.evaluation.blend import CHOICES_FILE, MODELS_FILE, Blend, HeadChoice, load_blend
from components.evaluation.classical import load_classical
from components.layout import Layout
from components.pipeline import contributions
from components.pipeline.classical import beats, classical_reports
from components.pipeline.results import Evaluated, Prepared, TrackingRun, Trained
from components.pipeline.rows import bounded_split, split_targets
from components.pipeline.runs import tracker_for
from components.progress import report
from components.serving import ServingConfig, TargetInfo, predict_frame

HOLDOUT = "holdout.parquet"  # the raw test rows, saved once for the gate to score the champion on
HOLDOUT_POSITIONS = "holdout_positions.npy"  # their positions in the test split (a sample past the bound)


def serving_config(contract: Contract, state: Any, thresholds: dict[str, list[float]]) -> ServingConfig:
    targets = [
        TargetInfo(
            name=spec.name,
            task=spec.task,
            classes=codec.names(fitted),
            thresholds=thresholds.get(spec.name, []),
            separator=spec.separator or "|",
        )
        for spec, codec, fitted in state.target_specs()
    ]
    root = contract.source.image_root
    return ServingConfig(
        contract=contract.name,
        id_column=contract.id_column,
        feature_columns=[f.name for f in contract.features],
        targets=targets,
        image_root=str(root) if root else None,
    )


def served_blend(trained: Trained) -> Blend | None:
    """The blend of network and classical models the run serves, None when every head is the network's."""
    if not trained.blend_dir:
        return None
    folder = Path(trained.blend_dir)
    return load_blend(folder / CHOICES_FILE, folder / MODELS_FILE)


def head_models_markdown(choices: dict[str, HeadChoice]) -> str:
    """A table: per head, the served model and the validation losses that chose it (the classical
    models' recipes are in the line above it)."""
    lines = [
        "| head | served model | network val loss | classical val loss | best blend val loss (network weight) |",
        "|---|---|---|---|---|",
    ]
    for head, c in choices.items():
        v = c.validation
        figures = (
            f"{v['network_loss']:.4f} | {v['classical_loss']:.4f} | {v['blend_loss']:.4f} ({v['blend_network_weight']:.2f})"
            if v
            else " | | "
        )
        lines.append(f"| {head} | {c.describe()} | {figures} |")
    return "\n".join(lines) + "\n"


def holdout_truth(directory: str, state: Any, search_dir: str) -> dict[str, np.ndarray]:
    """Each target's encoded values on the rows of the saved holdout (`HOLDOUT`: the test split, or the
    evaluation's sample of it), in its order. Without saved positions (a run from before the bound) the
    holdout is the whole split."""
    truth = split_targets(directory, "test", state)
    saved = Path(search_dir) / HOLDOUT_POSITIONS
    if not saved.exists():
        return truth
    positions = np.load(saved)
    return {name: values[positions] for name, values in truth.items()}


def unseen_rows(state: Any, holdout: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per target, the holdout rows whose target the train split never had (a class it lacks)."""
    return {
        spec.name: np.array([c is not None for c in codec.unseen(fitted, holdout[spec.name])], bool)
        for spec, codec, fitted in state.target_specs()
    }


def score_holdout(
    state: Any,
    predictions: pd.DataFrame,
    truth: dict[str, np.ndarray],
    train_truth: dict[str, np.ndarray],
    holdout: pd.DataFrame,
) -> tuple[dict, dict, float]:
    """Per-task reports and baselines on the holdout (raw rows `holdout`), and the combined score.

    A row whose class the train split lacks counts as a wrong answer of the model (the baseline, a
    prior over the train classes, is scored on the rows with a known class)."""
    reports, baselines = {}, {}
    unseen = unseen_rows(state, holdout)
    for spec, codec, fitted in state.target_specs():
        y_true, y_train = truth[spec.name], train_truth[spec.name]
        y_pred = codec.scored(predictions, spec.name, codec.names(fitted), spec.separator or "|")
        decisions = codec.decisions(predictions, spec.name, codec.names(fitted))  # a tuned threshold's
        known, train_known = codec.known(y_true), codec.known(y_train)
        scored = known | unseen[spec.name]
        wrong = codec.as_wrong(y_true, y_pred, unseen[spec.name], decisions)
        reports[spec.name] = codec.evaluate(
            wrong[scored], y_pred[scored], fitted, None if decisions is None else decisions[scored]
        )
        baselines[spec.name] = codec.baseline(y_train[train_known], y_true[known], fitted)
    return reports, baselines, evaluation.combined_score(reports, baselines)


def model_metrics(reports: dict, combined: float) -> dict[str, float]:
    """The model's own test scores: `test/<target>/<metric>` and `test/combined_score`."""
    metrics = {f"test/{name}/{k}": v for name, r in reports.items() for k, v in r.metrics.items()}
    metrics["test/combined_score"] = combined
    return metrics


def selection_metric(contract: Contract) -> str:
    """The logged metric the champion gate compares (`primary` of it, higher is better)."""
    if not contract.primary_metric:
        return "test/combined_score"
    target, _, metric = contract.primary_metric.partition("/")
    return f"test/{target}/{metric}"


def primary(contract: Contract, reports: dict, combined: float) -> float:
    """The number the champion gate compares (higher is better): the contract's `primary_metric`
    (`target/metric`) or the combined score."""
    if not contract.primary_metric:
        return combined
    target, _, metric = contract.primary_metric.partition("/")
    value = reports[target].metrics[metric]
    return value if evaluation.higher_is_better(metric) else -value


def evaluate(
    contract: Contract, layout: Layout, run: TrackingRun, prepared: Prepared, trained: Trained, seed: int = 0
) -> Evaluated:
    """Score the trained model on the test split: per-task metrics, baselines, plots."""
    report("evaluate", detail="scoring the test split, fitting the classical baselines")
    directory = prepared.directory
    state = records.load_state(directory)
    model = load_model(trained.model_path)
    config = serving_config(contract, state, trained.thresholds)
    # Memory bounded: at most `evaluation_max_rows` test rows (all of them below it) and, for the
    # classical model, `classical_max_rows` training rows, each a seeded sample stratified on the class.
    limits = contract.training
    holdout, truth, scored = bounded_split(contract, state, directory, "test", limits.evaluation_max_rows, seed)
    blend = served_blend(trained)
    predictions = predict_frame(model, state, config, holdout, blend=blend)
    train_truth = split_targets(directory, "train", state)  # the encoded targets only: the baselines' priors
    reports, baselines, combined = score_holdout(state, predictions, truth, train_truth, holdout)

    def train_split() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        rows, targets, _ = bounded_split(contract, state, directory, "train", limits.classical_max_rows, seed)
        return rows, targets

    fitted = load_classical(trained.classical_path) if trained.classical_path else None
    classical, recipes = classical_reports(
        contract, state, train_split, holdout, truth, unseen_rows(state, holdout), seed, fitted
    )
    beaten = beats(reports, classical, state)
    # A constant prediction ties its own baseline: such a head has learnt nothing the gate can promote.
    above_trivial = beats(reports, baselines, state, strict=True)
    out = Path(run.search_dir) / "evaluation"
    out.mkdir(parents=True, exist_ok=True)

    def rescore(rows: pd.DataFrame) -> tuple[dict, float]:
        scored, _, score = score_holdout(
            state, predict_frame(model, state, config, rows, blend=blend), truth, train_truth, holdout
        )
        return scored, score

    report("evaluate", detail="scoring the test split with each modality blanked")
    names = {spec.name: codec.primary(fitted) for spec, codec, fitted in state.target_specs()}
    contribution_table, contribution_metrics, contribution_plot = contributions.measure(
        contract, names, holdout, rescore, reports, baselines, combined, out
    )
    holdout.to_parquet(Path(run.search_dir) / HOLDOUT, index=False)
    np.save(Path(run.search_dir) / HOLDOUT_POSITIONS, scored)
    plots = [
        codec.plot(spec.name, reports[spec.name], truth[spec.name], predictions, out)
        for spec, codec, _ in state.target_specs()
    ]
    # MLflow groups charts by the part before "/": the model's test scores, then each reference.
    metrics = model_metrics(reports, combined)
    metrics.update({f"baseline/{name}/{k}": v for name, r in baselines.items() for k, v in r.metrics.items()})
    metrics.update({f"classical/{name}/{k}": v for name, r in classical.items() for k, v in r.metrics.items()})
    if blend is not None:  # what the network alone would have scored, beside the served combination
        alone, _, _ = score_holdout(state, predict_frame(model, state, config, holdout), truth, train_truth, holdout)
        metrics.update({f"network/{name}/{k}": v for name, r in alone.items() for k, v in r.metrics.items()})
    score = primary(contract, reports, combined)  # one of the logged numbers (see `selection_metric`)
    table = evaluation.markdown_table(reports, baselines, classical)
    table += "\nClassical models (same split): " + "; ".join(f"{k}: {v}" for k, v in recipes.items()) + "\n\n"
    table += (
        "Beats the classical model: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in beaten.items()) + "\n\n"
    )
    table += (
        "Beats the trivial baseline: "
        + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in above_trivial.items())
        + "\n"
    )
    test_rows = len(records.split_ids(directory, "test"))
    if len(scored) < test_rows:
        table += (
            f"\nScored on a seeded sample of {len(scored)} of the {test_rows} test rows, stratified on the "
            "class (`training.evaluation_max_rows`).\n"
        )
    if trained.head_models:
        choices = {head: HeadChoice(**choice) for head, choice in trained.head_models.items()}
        table += "\nServed per head (chosen on the validation split):\n\n" + head_models_markdown(choices)
    if prepared.unseen_classes:
        table += "\nClasses the train split lacks:\n" + "".join(f"- {line}\n" for line in prepared.unseen_classes)
    metrics.update(contribution_metrics)
    (out / "contributions.md").write_text(contribution_table, encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float), encoding="utf-8")
    (out / "evaluation.md").write_text(table, encoding="utf-8")
    tracker = tracker_for(layout)
    # The logged model gets its own test/ metrics, tied to the test split's dataset (gate.register).
    tracker.log_metrics(run.run_id, metrics)
    tracker.set_tags(run.run_id, {"braid.selection_metric": selection_metric(contract)})
    tracker.log_artifacts(run.run_id, out, "evaluation")
    plots += [contribution_plot] if contribution_plot else []
    return Evaluated(
        metrics=metrics,
        table_markdown=table,
        combined_score=combined,
        primary_score=score,
        plots=[str(p) for p in plots],
        test_rows=len(holdout),
        beats_classical=beaten,
        beats_trivial=above_trivial,
        contributions_markdown=contribution_table,
    )
