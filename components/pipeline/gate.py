"""Step 5: log the pyfunc, register it as `challenger`, promote it to `champion` only if it beats the
current champion on the same holdout rows. The policy (`decide`) is a pure function; registry I/O
goes through `components.tracking`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from components.automl.export import load_model
from components.data import records
from components.data.contract import Contract
from components.errors import BraidError
from components.evaluation.blend import CHOICES_FILE, MODELS_FILE
from components.layout import Layout
from components.pipeline.assess import (
    HOLDOUT,
    holdout_truth,
    model_metrics,
    primary,
    score_holdout,
    selection_metric,
    served_blend,
    serving_config,
    split_targets,
)
from components.pipeline.results import Decision, Evaluated, Prepared, TrackingRun, Trained
from components.pipeline.rows import input_columns, self_contained
from components.pipeline.runs import dataset_key, registered_name, tracker_for
from components.progress import report
from components.serving import SERVING_PARAMS, predict_frame

CHAMPION, CHALLENGER = "champion", "challenger"


def champion_run(contract: Contract, layout: Layout) -> str | None:
    """The MLflow run that made the contract's current champion; None when there is none."""
    tracker = tracker_for(layout)
    version = tracker.alias_version(registered_name(contract), CHAMPION)
    return None if version is None else tracker.version_run_id(registered_name(contract), version)


PACKAGE = Path(__file__).resolve().parents[1]  # the `components` package, shipped with the pyfunc


def decide(challenger: float, champion_version: str | None, champion: float | None, rows: int) -> tuple[bool, str]:
    """Whether the challenger replaces the champion, and why (scores: higher is better)."""
    if champion_version is None:
        return True, "first registered version: it becomes the champion"
    if champion is None:
        return True, f"current champion v{champion_version} cannot score this holdout; replaced"
    promote = challenger > champion
    return promote, (
        f"challenger {challenger:.4f} {'>' if promote else '<='} champion v{champion_version} "
        f"{champion:.4f} on the same {rows} holdout rows"
    )


def register(
    contract: Contract,
    layout: Layout,
    run: TrackingRun,
    prepared: Prepared,
    trained: Trained,
    evaluated: Evaluated,
    require_beating_classical: bool = False,
    require_beating_trivial: bool = True,
) -> Decision:
    """Log and register the model; move `champion` to it when `decide` says so (both scores logged)."""
    report("register", detail="logging the model, scoring the champion on the same holdout")
    directory = Path(prepared.directory)
    state = records.load_state(directory)
    tracker = tracker_for(layout)
    package = Path(run.search_dir) / "package"
    package.mkdir(parents=True, exist_ok=True)
    config = serving_config(contract, state, trained.thresholds)
    (package / "serving.json").write_text(config.to_json(), encoding="utf-8")
    holdout = pd.read_parquet(Path(run.search_dir) / HOLDOUT)
    example = self_contained(contract, holdout[config.feature_columns].head(5))
    model = load_model(trained.model_path)
    blend = served_blend(trained)
    signature = tracker.pyfunc_signature(
        input_columns(contract, example),
        example,
        predict_frame(model, state, config, example, blend=blend),
        SERVING_PARAMS,
    )
    artifacts = {
        "keras_model": trained.model_path,
        "state": str(directory / "state.json"),
        "serving": str(package / "serving.json"),
    }
    if blend is not None:  # the fitted classical models and each head's choice (evaluation/blend.py)
        artifacts["head_models"] = str(Path(trained.blend_dir) / CHOICES_FILE)
        artifacts["classical"] = str(Path(trained.blend_dir) / MODELS_FILE)
    name = registered_name(contract)
    model_uri = tracker.log_pyfunc(
        run.run_id,
        name=name,
        python_model=str(PACKAGE / "serving" / "model_code.py"),
        artifacts=artifacts,
        signature=signature,
        input_example=example,
        code_paths=[str(PACKAGE)],
        metrics={k: v for k, v in evaluated.metrics.items() if k.startswith("test/")},
        dataset=dataset_key(contract, directory.name, "test"),
    )
    targets = ", ".join(f"{t.name} ({t.task})" for t in contract.targets)
    selected = selection_metric(contract)  # the gate's score as logged, in its metric's own units
    version = tracker.register(
        model_uri,
        name,
        tags={"braid.data_hash": directory.name},
        description=(
            f"Braid models of the data contract `{contract.name}`: raw rows in, {targets} out. "
            f"The `{CHAMPION}` alias is the one to serve; `{CHALLENGER}` is the newest."
        ),
        version_description=(
            f"From run {run.run_name}: best of {len(trained.leaderboard)} trials "
            f"(trial {trained.leaderboard[0]['trial_id'] if trained.leaderboard else '?'}); "
            f"test {selected} = {evaluated.metrics[selected]}."
        ),
    )
    tracker.set_alias(name, CHALLENGER, version)
    champion = tracker.alias_version(name, CHAMPION)
    champion_score, champion_value, failure = None, None, ""
    if champion is not None:
        try:
            current = tracker.load_pyfunc(tracker.model_uri(name, CHAMPION))
            reports, _, combined = score_holdout(
                state,
                current.predict(holdout),
                holdout_truth(str(directory), state, run.search_dir),
                split_targets(str(directory), "train", state),
                holdout,
            )
            champion_score = primary(contract, reports, combined)
            champion_value = model_metrics(reports, combined)[selected]
        except (BraidError, KeyError, ValueError, OSError) as exc:
            failure = f" ({exc})"
    promote, reason = decide(evaluated.primary_score, champion, champion_score, len(holdout))
    reason += failure
    beaten = all(evaluated.beats_classical.values())
    if require_beating_classical and not beaten:
        lost = [head for head, ok in evaluated.beats_classical.items() if not ok]
        promote, reason = False, f"the contract requires beating the classical model, and {', '.join(lost)} did not"
    trivial = [head for head, ok in evaluated.beats_trivial.items() if not ok]
    if (
        trivial and require_beating_trivial
    ):  # the first version too: a trivial model must never be served as the champion
        promote, reason = (
            False,
            (
                f"{', '.join(trivial)} did not beat the trivial baseline on the test split "
                "(its primary metric); registered without the champion alias"
            ),
        )
    if promote:
        tracker.set_alias(name, CHAMPION, version)
    tracker.set_tags(
        run.run_id,
        {
            "braid.registered_version": version,
            "braid.promoted": promote,
            "braid.decision": reason,
            "braid.beats_classical": beaten,
            "braid.beats_trivial": not trivial,
        },
    )
    if champion_value is not None:  # the challenger's own score is its `braid.selection_metric`
        tracker.log_metrics(run.run_id, {"gate/champion_score": champion_value})
    markdown = (
        f"**{name} v{version}** registered as `{CHALLENGER}`; "
        f"{'promoted to' if promote else 'not promoted to'} `{CHAMPION}`: {reason}."
    )
    return Decision(
        registered_model=name,
        version=version,
        promoted=promote,
        reason=reason,
        challenger_score=evaluated.primary_score,
        champion_score=champion_score,
        previous_champion=champion,
        model_uri=model_uri,
        markdown=markdown,
        beats_classical=beaten,
    )
