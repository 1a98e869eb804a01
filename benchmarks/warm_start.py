"""Warm-started nightly searches against cold ones: best validation objective after each trial.

Run by hand (not by tests):
    nice -n 10 python -m benchmarks.warm_start [--rows 600] [--trials 3] [--epochs 3] [--nights 3]
Writes benchmarks/results/warm_start.json.

Night 0 is one cold search; each later night draws its own rows from the demo set (another seed)
and runs greedy searches of `trials` trials x `epochs` epochs on them: cold (the first trial all
defaults); warm (`warm_start` = every completed trial of the previous night's warm search, best
first; night 1 starts from night 0's); warm_best (only the previous night's best, so the greedy
tuner still has trials of its own to explore with). Inputs: the demo set's table columns (price, weight, colour, listing date)
and its description text; head: `score` (regression); objective: the default val_combined_loss
(lower is better). Figures: the best objective after 1, 2, ... trials, per night and the median
over the nights.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "warm_start.json"
WORK = ROOT / "benchmarks" / ".work" / "warm_start"
TABLE = ["price", "weight", "color", "listed_on"]


def demo_frame(rows: int) -> pd.DataFrame:
    from components.data.demo import write_demo_data

    csv = WORK / f"demo_{rows}" / "demo.csv"
    if not csv.is_file():
        write_demo_data(csv.parent, n_rows=rows, seed=0)
    return pd.read_csv(csv)


def night_rows(frame: pd.DataFrame, night: int, rows: int) -> pd.DataFrame:
    chosen = np.random.default_rng(night).choice(len(frame), size=rows, replace=False)
    return frame.iloc[np.sort(chosen)].reset_index(drop=True)


ARMS = {"cold": 0, "warm": None, "warm_best": 1}  # how many of the previous night's trials seed each (None: all)


def search(
    rows: pd.DataFrame, night: int, arm: str, warm_start: list[dict] | None, trials: int, epochs: int, directory: str
) -> list[dict]:
    """One night's search → its leaderboard (trials best first)."""
    import components as ak

    model = ak.AutoModel(
        inputs=[
            ak.StructuredDataInput(name="table", column_types={"listed_on": "datetime"}),
            ak.TextInput(name="text"),
        ],
        outputs=ak.RegressionHead(name="score"),
        max_trials=trials,
        tuner="greedy",
        seed=night,
        directory=directory,
        project_name=f"night{night}_{arm}",
        overwrite=True,
        ensemble_size=1,
        pretrained=False,
        warm_start=warm_start,
    )
    table = rows[TABLE].copy()
    table["price"] = table["price"].fillna(table["price"].median())
    table["weight"] = table["weight"].fillna(table["weight"].median())
    model.fit(
        [table, rows["description"].to_numpy()], rows["score"].to_numpy(dtype="float32"), epochs=epochs, verbose=0
    )
    return model.leaderboard()


def best_so_far(board: list[dict]) -> list[float]:
    """The best score after each trial, in the order the trials ran (failed trials keep the best)."""
    best, curve = float("inf"), []
    for row in sorted(board, key=lambda r: int(r["trial_id"])):
        if row["score"] is not None:
            best = min(best, row["score"])
        curve.append(best)
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-rows", type=int, default=1500)
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--nights", type=int, default=3)
    args = parser.parse_args()
    started = time.time()
    frame = demo_frame(args.demo_rows)
    results: dict = {
        "settings": vars(args),
        "objective": "val_combined_loss (lower is better)",
        "cpus": os.cpu_count(),
        "load_average_1m_at_start": os.getloadavg()[0],
        "nights": [],
    }
    with tempfile.TemporaryDirectory() as directory:
        first = search(night_rows(frame, 0, args.rows), 0, "cold", None, args.trials, args.epochs, directory)
        previous = {arm: first for arm in ARMS}
        for night in range(1, args.nights + 1):
            rows = night_rows(frame, night, args.rows)
            record: dict = {"night": night}
            for arm, seeds in ARMS.items():
                completed = [row["hyperparameters"] for row in previous[arm] if row["status"] == "COMPLETED"]
                warm_start = completed[:seeds] if seeds is not None else completed
                board = search(rows, night, arm, warm_start or None, args.trials, args.epochs, directory)
                record[f"{arm}_best_after_trial"] = best_so_far(board)
                record[f"{arm}_warm_trials"] = sorted(r["trial_id"] for r in board if r["warm"])
                previous[arm] = board
            results["nights"].append(record)
            print(json.dumps(record))
    for arm in ARMS:
        curves = np.array([n[f"{arm}_best_after_trial"] for n in results["nights"]])
        results[f"{arm}_median_best_after_trial"] = [float(v) for v in np.median(curves, axis=0)]
    results["wall_s"] = time.time() - started
    results["load_average_1m_at_end"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "nights"}, indent=2))


if __name__ == "__main__":
    main()
