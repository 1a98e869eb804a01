"""What each input modality contributes: every head's test score with the modality present and with it
blanked (what the model sees when that input is missing), as a table and a bar plot."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from components.evaluation.plots import _save

Scores = Mapping[str, float]  # head (and "combined") → score


def markdown(present: Scores, blanked: Mapping[str, Scores], metric_names: Mapping[str, str]) -> str:
    """One row per blanked modality: each head's score without it and the change from the full model.

    Args:
        present: head → the full model's score on its primary metric; `combined` → combined score.
        blanked: modality → the same scores with that modality blanked on every test row.
        metric_names: head → the metric's name (e.g. `micro_f1`, `mae`).
    """
    heads = [h for h in present if h != "combined"]
    header = ["blanked"] + [f"{h} {metric_names.get(h, '')}".strip() for h in heads] + ["combined score"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.append("| (nothing: full model) | " + " | ".join(f"{present[h]:.4f}" for h in [*heads, "combined"]) + " |")
    for modality, scores in blanked.items():
        cells = [f"{scores[h]:.4f} ({scores[h] - present[h]:+.4f})" for h in [*heads, "combined"]]
        lines.append(f"| {modality} | " + " | ".join(cells) + " |")
    return (
        "What each modality contributes: every head's test score with one modality blanked on every "
        "row (images missing, audio silent, series and texts empty, numbers and categories unknown); in "
        "brackets the change from the full model.\n\n" + "\n".join(lines) + "\n"
    )


def contribution(present: Scores, blanked: Mapping[str, Scores]) -> dict[str, float]:
    """modality → how much the combined score drops without it (positive: the modality helps)."""
    return {m: float(present["combined"] - s["combined"]) for m, s in blanked.items()}


def plot(
    present: Scores, blanked: Mapping[str, Scores], out_dir: str | Path, filename: str = "modality_contributions.png"
) -> Path:
    """Grouped bars: per modality, each head's drop in normalised score terms (combined score first)."""
    modalities = list(blanked)
    keys = ["combined"] + [h for h in present if h != "combined"]
    fig = Figure(figsize=(max(5.0, 1.4 * len(modalities) + 2), 4))
    ax = fig.add_subplot()
    width = 0.8 / len(keys)
    x = np.arange(len(modalities))
    for i, key in enumerate(keys):
        drops = [present[key] - blanked[m][key] for m in modalities]
        ax.bar(x + (i - (len(keys) - 1) / 2) * width, drops, width, label=key)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xticks(x, labels=modalities)
    ax.set_ylabel("score lost when blanked (higher: matters more)")
    ax.set_title("What each modality contributes (test split)")
    ax.legend(fontsize=8)
    return _save(fig, out_dir, filename)
