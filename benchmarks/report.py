"""The harness's markdown table and bar plot, drawn from the latest entry of each set in the history."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

COLUMNS = ("braid", "braid_scratch", "classical", "autokeras", "autogluon", "autogluon_wallclock")
LABELS = {
    "braid": "Braid",
    "braid_scratch": "Braid without pretrained encoders",
    "classical": "classical",
    "autokeras": "AutoKeras 3.0",
    "autogluon": "AutoGluon 60 s/head",
    "autogluon_wallclock": "AutoGluon, Braid's wall clock",
}


def latest_per_set(history: list[dict]) -> list[dict]:
    latest: dict[str, dict] = {}
    for entry in history:
        if "systems" in entry:  # earlier entries came from the pipeline harness, in another shape
            latest[entry["set"]] = entry
    return list(latest.values())


def _cell(system: dict | None, head: str, name: str) -> str:
    if not system:
        return "not run"
    if "error" in system and "heads" not in system:
        return "failed"
    value = system["heads"][head]["value"]
    text = f"{value:.3f}"
    if "min" in system:  # Braid over seeds
        low, high = system["min"][head], system["max"][head]
        text += f" [{low:.3f}-{high:.3f}]" if low != high else ""
    extra = system["heads"][head]
    if name == "classical" and "at_best_test_threshold" in extra:  # the others answer 0/1 labels
        text += (
            f" (threshold {extra['threshold']:.2f} from train; {extra['at_0.5']:.3f} at 0.5, "
            f"{extra['at_best_test_threshold']:.3f} at the best test threshold)"
        )
    if system.get("source"):
        text += f" ({system['source']})"
    return text


def markdown(history: list[dict]) -> str:
    lines = [
        "| set · head | " + " | ".join(LABELS[c] for c in COLUMNS) + " | trivial | goal |",
        "|---|" + "---|" * (len(COLUMNS) + 2),
    ]
    notes = []
    for entry in latest_per_set(history):
        systems = entry["systems"]
        for head, goal in entry["goals"].items():
            cells = [_cell(systems.get(c), head, c) for c in COLUMNS]
            sign = ">=" if goal["higher"] else "<="
            lines.append(
                f"| {entry['set']} · {head} {goal['metric']} | "
                + " | ".join(cells)
                + f" | {entry['trivial'][head]['value']:.3f} | {sign} {goal['value']} |"
            )
        seconds = " · ".join(
            f"{LABELS[c]} {systems[c]['seconds']:.0f} s"
            for c in COLUMNS
            if systems.get(c) and systems[c].get("seconds")
        )
        notes.append(
            f"- {entry['set']} ({entry['date']}, {entry['trials']} trials x {entry['epochs']} epochs, "
            f"Braid seeds {entry['seeds']}): fit seconds {seconds}."
        )
        for name in COLUMNS:
            if systems.get(name, {}).get("error"):
                notes.append(f"  - {LABELS[name]} on {entry['set']}: {systems[name]['error']}")
    return "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def normalised(value: float, trivial: float, higher: bool) -> float:
    """0 at the trivial baseline, 1 at a perfect score (accuracy/F1 of 1, MAE of 0)."""
    if higher:
        return (value - trivial) / max(1.0 - trivial, 1e-9)
    return (trivial - value) / max(trivial, 1e-9)


def plot(history: list[dict], path: Path) -> Path:
    bars, goals, names = [], [], []
    for entry in latest_per_set(history):
        for head, goal in entry["goals"].items():
            base = entry["trivial"][head]["value"]
            row = []
            for name in COLUMNS:
                system = entry["systems"].get(name) or {}
                value = system.get("heads", {}).get(head, {}).get("value")
                row.append(np.nan if value is None else normalised(value, base, goal["higher"]))
            bars.append(row)
            goals.append(normalised(goal["value"], base, goal["higher"]))
            names.append(f"{entry['set']}\n{head}")
    series = {LABELS[name]: [row[k] for row in bars] for k, name in enumerate(COLUMNS)}
    return bar_chart(names, series, path, "Test split, each head normalised (missing bar: not run)", goals)


def bar_chart(
    names: list[str], series: dict[str, list[float]], path: Path, title: str, goals: list[float] | None = None
) -> Path:
    """Grouped bars of normalised scores: one group per name, one bar per series (NaN: no bar)."""
    figure = Figure(figsize=(max(7, 0.35 * len(series) * len(names) + 3.5), 4.5))
    axes = figure.add_subplot()
    width = 0.8 / len(series)
    positions = np.arange(len(names))
    for k, (label, values) in enumerate(series.items()):
        axes.bar(positions + (k - (len(series) - 1) / 2) * width, values, width, label=label)
    if goals is not None:
        axes.scatter(positions, goals, marker="_", s=900, color="black", label="goal", zorder=3)
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set_xticks(positions, names, fontsize=8)
    axes.set_ylabel("0 = trivial baseline, 1 = perfect")
    axes.set_title(title)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
