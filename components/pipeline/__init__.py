"""The pipeline's steps as plain functions: what each Prefect task of `flows/` calls.

One module per step, each returning a typed record (`results.py`):

    prepare.py   fingerprint, validate (the Great Expectations gate), preprocess     → Validated, Prepared
                 (or in parts on a cluster: start_/finish_preprocess_in_parts)
    runs.py      open / close the parent MLflow run (resume a killed one)            → TrackingRun
    drift.py     tonight's training rows against the champion's profile (warn / stop)  → Drifted
    train.py     the AutoModel for the shards, searched and exported                 → Trained
    assess.py    test-split metrics per head against trivial baselines, plots        → Evaluated
    gate.py      register as challenger; champion only if it beats the current one   → Decision
    report.py    the run report: one self-contained HTML page (a model card)          → its path
    score.py     score a file with the model at an alias                             → Scored

Nothing here imports Prefect, and MLflow only through `components.tracking`. Names load lazily, so
`braid validate` does not import TensorFlow.
"""

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "components.pipeline.prepare": (
        "fingerprint",
        "validate",
        "preprocess",
        "quarantined_ids",
        "start_preprocess_in_parts",
        "finish_preprocess_in_parts",
    ),
    "components.pipeline.runs": (
        "open_tracking_run",
        "close_tracking_run",
        "experiment_name",
        "link_flow_run",
        "registered_name",
    ),
    "components.pipeline.drift": ("check_drift", "check_rows"),
    "components.pipeline.train": ("build_automodel", "search_and_train"),
    "components.pipeline.assess": ("evaluate", "score_holdout", "serving_config"),
    "components.pipeline.gate": ("CHALLENGER", "CHAMPION", "decide", "register"),
    "components.pipeline.report": ("write_report",),
    "components.pipeline.score": ("score_file",),
    "components.pipeline.rows": ("holdout_rows", "typed_rows"),
    "components.pipeline.results": (
        "Decision",
        "Drifted",
        "Evaluated",
        "Prepared",
        "RunSettings",
        "Scored",
        "Trained",
        "TrackingRun",
        "Validated",
    ),
}
if TYPE_CHECKING:  # what tools follow; at run time each name loads on first use (`__getattr__`)
    from components.pipeline.assess import evaluate, score_holdout, serving_config
    from components.pipeline.drift import check_drift, check_rows
    from components.pipeline.gate import CHALLENGER, CHAMPION, decide, register
    from components.pipeline.prepare import (
        fingerprint,
        finish_preprocess_in_parts,
        preprocess,
        quarantined_ids,
        start_preprocess_in_parts,
        validate,
    )
    from components.pipeline.report import write_report
    from components.pipeline.results import (
        Decision,
        Drifted,
        Evaluated,
        Prepared,
        RunSettings,
        Scored,
        TrackingRun,
        Trained,
        Validated,
    )
    from components.pipeline.rows import holdout_rows, typed_rows
    from components.pipeline.runs import (
        close_tracking_run,
        experiment_name,
        link_flow_run,
        open_tracking_run,
        registered_name,
    )
    from components.pipeline.score import score_file
    from components.pipeline.train import build_automodel, search_and_train

_WHERE = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'components.pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_WHERE))


__all__ = sorted(_WHERE)
