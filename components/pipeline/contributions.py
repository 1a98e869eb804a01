"""Part of step 4: what each modality contributes, and how every head degrades when it is missing.

The test rows are scored again through the same `predict_frame` a served model uses, once per
modality with that modality blanked on every row: images and audio clips missing (the network hears
silence, the classical model sees missing numbers), series and texts empty, numbers, categories and
dates unknown — what a caller sends when an input is not there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from components import evaluation
from components.data.contract import Contract
from components.data.preprocess import blanked_on_purpose
from components.evaluation import contributions
from components.features.registry import MODALITIES


def blanked(contract: Contract, rows: pd.DataFrame, modality: str) -> pd.DataFrame:
    """`rows` with every feature of `modality` blanked."""
    out = rows.copy()
    blank = MODALITIES[modality].blank
    for feature in contract.features_of(modality):
        out[feature.name] = pd.Series(
            [blank] * len(out), index=out.index, dtype="float64" if isinstance(blank, float) else object
        )
    return out


def measure(
    contract: Contract,
    metric_names: dict[str, str],
    holdout: pd.DataFrame,
    rescore: Callable[[pd.DataFrame], tuple[dict, float]],
    reports: dict,
    baselines: dict,
    combined: float,
    out: Path,
) -> tuple[str, dict[str, float], Path | None]:
    """Score the holdout with each modality blanked.

    Args:
        metric_names: target → its primary metric.
        rescore: raw rows → (per-target reports, combined score), through the served model.
        reports, baselines, combined: the full model's scores on `holdout`.

    Returns:
        The markdown table, metrics (`contribution/<modality>/combined_score`: how much the combined
        score drops without it; `blanked/<modality>/<target>/<metric>`: each head's primary metric
        without it) and the bar plot of each head's drop in normalised score (None, and nothing
        measured, for a contract with one modality).
    """
    modalities = list(dict.fromkeys(f.modality for f in contract.features))
    if len(modalities) < 2:
        return "", {}, None
    names = metric_names

    def scores(head_reports: dict, combined_score: float) -> tuple[dict[str, float], dict[str, float]]:
        raw = {h: head_reports[h].metrics[m] for h, m in names.items()}
        normalised = {h: evaluation.normalized_score(head_reports[h], baselines[h]) for h in names}
        return raw | {"combined": combined_score}, normalised | {"combined": combined_score}

    present_raw, present_normalised = scores(reports, combined)
    blank_raw, blank_normalised, metrics = {}, {}, {}
    for modality in modalities:
        # The holdout's own empty cells were reported when it was scored whole; these are Braid's.
        with blanked_on_purpose(f.name for f in contract.features_of(modality)):
            blank_reports, blank_combined = rescore(blanked(contract, holdout, modality))
        blank_raw[modality], blank_normalised[modality] = scores(blank_reports, blank_combined)
        metrics.update({f"blanked/{modality}/{h}/{m}": blank_raw[modality][h] for h, m in names.items()})
    metrics.update(
        {f"contribution/{m}/combined_score": v for m, v in contributions.contribution(present_raw, blank_raw).items()}
    )
    plot = contributions.plot(present_normalised, blank_normalised, out)
    return contributions.markdown(present_raw, blank_raw, names), metrics, plot
