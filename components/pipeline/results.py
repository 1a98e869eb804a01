"""What each pipeline step returns: typed, frozen records (plain values inside, so Prefect can persist
them and the flow's summary is their `to_dict()`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


class _Record:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]):
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in raw.items() if k in names})


@dataclass(frozen=True)
class RunSettings(_Record):
    """How one pipeline run searches and trains: the contract's `training:` section, with the values
    given on the command line (or as flow parameters) in its place."""

    max_trials: int = 3
    epochs: int = 5
    time_budget: float | None = None
    tuner: str = "greedy"
    seed: int = 0
    batch_size: int | None = None
    loss_weighting: str = "static"
    fusion: str | None = None
    modality_dropout: float | None = None
    ensemble_size: int = 3
    refit: bool = True
    require_beating_classical: bool = False
    require_beating_trivial: bool = True
    workers: int = 1
    head_models: str = "auto"
    distribution: str = "none"
    mixed_precision: str = "none"
    data_parallel_workers: int = 1

    @classmethod
    def resolve(cls, training: Any, **overrides: Any) -> "RunSettings":
        """The contract's `Training` section, each override that is not None replacing its value."""
        from pydantic import ValidationError

        from components.errors import InputError

        values = {**training.model_dump(), **{k: v for k, v in overrides.items() if v is not None}}
        try:
            checked = type(training).model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                # a check across settings (`workers` with `distribution`) has no single option to name
                (f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: " if e["loc"] else "")
                + e["msg"].removeprefix("Value error, ")
                for e in exc.errors()
            )
            raise InputError(f"bad search setting: {problems}") from None
        return cls.from_dict(checked.model_dump())

    def as_dict(self) -> dict[str, Any]:
        return self.to_dict()


@dataclass(frozen=True)
class Validated(_Record):
    """The validation gate passed: where its report, Data Docs and quarantine file are."""

    directory: str
    n_rows: int
    n_used: int
    n_quarantined: int
    results_path: str
    data_docs_dir: str
    data_docs_index: str
    quarantine_path: str | None
    summary_markdown: str
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Prepared(_Record):
    """The preprocessed shards of this data and contract."""

    directory: str
    reused: bool
    rows: dict[str, int]
    quarantined: int
    issues: dict[str, int] = field(default_factory=dict)
    unseen_classes: list[str] = field(default_factory=list)  # per target: classes only val/test rows hold


@dataclass(frozen=True)
class TrackingRun(_Record):
    """The parent MLflow run of a pipeline run (reopened when a killed run is resumed)."""

    run_id: str
    run_name: str
    experiment_id: str
    experiment: str
    tracking_uri: str
    resumed: bool
    killed_trials: int
    search_dir: str
    ui_url: str  # the run's page in the MLflow UI (the server's, or `braid ui`'s for a local store)


@dataclass(frozen=True)
class Drifted(_Record):
    """Tonight's data against the data the champion was trained on (`checked` False: no champion
    statistics to compare with)."""

    checked: bool
    drifted: list[str]  # "<column> <statistic>" of each check over its threshold
    markdown: str
    reference_run: str | None = None


@dataclass(frozen=True)
class Trained(_Record):
    """The search's outcome: the exported best model, the leaderboard, tuned thresholds."""

    model_path: str
    leaderboard: list[dict[str, Any]]
    best_hyperparameters: dict[str, Any]
    thresholds: dict[str, list[float]]
    batch_size: int
    objective: str = "val_combined_loss"  # what the leaderboard's `score` is
    direction: str = "min"  # "min": lower is better
    # Per head: the served model (network, classical or blend) and the validation figures that chose it
    # (`evaluation.blend.HeadChoice` as a dict); `blend_dir` holds the blend's files when a head is not the network's.
    head_models: dict[str, dict[str, Any]] = field(default_factory=dict)
    blend_dir: str | None = None
    # The classical models the head choice fitted on the training rows (classification and regression
    # heads): the evaluation scores them as its classical baselines instead of fitting them again.
    classical_path: str | None = None


@dataclass(frozen=True)
class Evaluated(_Record):
    """Test-split metrics per head against trivial baselines, plots, the score the gate compares."""

    metrics: dict[str, float]
    table_markdown: str
    combined_score: float
    primary_score: float
    plots: list[str]
    test_rows: int
    beats_classical: dict[str, bool] = field(default_factory=dict)  # per head, on its primary metric
    beats_trivial: dict[str, bool] = field(default_factory=dict)  # per head, strictly, on its primary metric
    contributions_markdown: str = ""  # each head's score with one modality blanked (pipeline/contributions.py)


@dataclass(frozen=True)
class Decision(_Record):
    """The registry decision: the new version, whether it became champion, and why."""

    registered_model: str
    version: str
    promoted: bool
    reason: str
    challenger_score: float
    champion_score: float | None
    previous_champion: str | None
    model_uri: str
    markdown: str
    beats_classical: bool = True  # every head at least its classical model on the holdout


@dataclass(frozen=True)
class Scored(_Record):
    """A scored file."""

    rows: int
    output: str
    model_uri: str
    drifted: list[str] = field(default_factory=list)  # checks over their threshold (see pipeline/drift.py)
    drift_markdown: str = ""
    skipped: int = 0  # rows that could not be read, scored null (on_bad_rows="skip")
