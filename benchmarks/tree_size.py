"""The classical trees' size on flights: each number of leaves per tree against the size the hold-out
chooses (`components.evaluation.classical`), and the OpenMP threads' cost on big trees.

Run by hand (not by tests):
    python -m benchmarks.tree_size [--rows 20000] [--task regression|classification] [--leaves 31 255 2047]
    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.tree_size --threads 2 --rounds 15 --leaves 2047
    python -m benchmarks.tree_size --task classification --bag 1 3 5 --splits 0 1 2

The flights as `braid contract infer` drafts them (numbers, the four categories, `time_hour` as a
datetime) minus what is known only after departure, on the suite's 80/20 split (`sets.split`, all
336,776 flights unless `--rows`): arr_delay (MAE, rows with a delay) or cancelled (macro-F1 at the
best threshold on test: an upper bound, the same rule for every size). Per size: `train_classical(..., leaves=size)`, then `leaves=None` (the hold-out's choice);
the test metric, the hold-out's loss, rounds and seconds. `--threads` times HistGradientBoosting itself
on the same features for `--rounds` rounds at that many OpenMP threads (the wait policy is the
environment's), outside Braid's one-thread rule.

`--bag K...` compares one model with bags of K (`classical.TreeBag`), on `--splits` random 70/15/15 splits
(`default_rng(split).permutation` of the flights, all unless `--rows`): one model is the trees as they were before the bag (all
columns at every split, the size grown on the hold-out); a bag of K is that model grown drawing 70% of the
columns per split, plus K - 1 copies at its size seeded 1..K-1 (the bags share their members, so the
largest K costs all the fits; the copies fit on two threads, as in the library, so a bag's seconds are
its members' mean wall times K). cancelled's threshold is tuned on the 15% (`THRESHOLD_GRID`, macro-F1), then
applied to the test 15%; arr_delay is scored by MAE. The library bags classification heads only, from
10,000 training rows (so `--rows` of at least 14,300).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import f1_score
from threadpoolctl import threadpool_limits

from benchmarks.sets import flights_raw, split
from components.evaluation import classical
from components.evaluation.classical import ClassicalColumns, train_classical, tree_estimator

COLUMNS = ClassicalColumns(
    numbers=("year", "month", "day", "sched_dep_time", "sched_arr_time", "flight", "distance", "hour", "minute"),
    dates=(("time_hour", None),),
    categories=("carrier", "tailnum", "origin", "dest"),
)


def flights(rows: int | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The raw flights (`sets.flights_raw`) and the suite's train/test rows."""
    raw = flights_raw(rows).assign(time_hour=lambda f: f["time_hour"].astype(str))
    train, test = split(len(raw))
    return raw, train, test


def score(task: str, model, test_inputs, y_test: np.ndarray) -> float:
    predicted = model.predict(test_inputs)
    if task == "regression":
        return float(np.mean(np.abs(predicted - y_test)))
    return max(
        f1_score(y_test, (predicted[:, 1] >= t).astype(int), average="macro") for t in np.arange(0.05, 0.95, 0.01)
    )


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="flights drawn before the split (default: all)")
    parser.add_argument("--task", choices=("regression", "classification"), default="regression")
    parser.add_argument("--leaves", nargs="+", type=int, default=[31, 255, 2047])
    parser.add_argument("--threads", type=int, help="time the raw estimator at this many OpenMP threads")
    parser.add_argument("--rounds", type=int, default=15, help="boosting rounds of the --threads timing")
    parser.add_argument("--bag", nargs="+", type=int, help="compare one model with bags of these sizes")
    parser.add_argument("--splits", nargs="+", type=int, default=[0, 1, 2], help="the --bag comparison's splits")
    args = parser.parse_args(argv)
    if args.bag:
        return bags(args.task, args.bag, args.splits, args.rows)
    raw, train, test = flights(args.rows)
    target = raw["arr_delay"].to_numpy(float) if args.task == "regression" else raw["dep_time"].isna().to_numpy(int)
    known = np.isfinite(target.astype(float))
    train, test = train[known[train]], test[known[test]]
    train_inputs, test_inputs = COLUMNS.inputs(raw.iloc[train]), COLUMNS.inputs(raw.iloc[test])
    y_train, y_test = target[train], target[test]
    results = []
    if args.threads:
        # the trees' own features and loss, without a first fit of the whole model
        _, x, estimator = tree_estimator(args.task, train_inputs, y_train)
        estimator.set_params(max_leaf_nodes=args.leaves[0], max_iter=args.rounds, early_stopping=False)
        with threadpool_limits(args.threads, user_api="openmp"):
            started = time.monotonic()
            estimator.fit(x, y_train)
        results.append({"threads": args.threads, "leaves": args.leaves[0], "rounds": args.rounds})
        results[-1]["seconds"] = round(time.monotonic() - started, 1)
    else:
        for leaves in [*args.leaves, None]:
            started = time.monotonic()
            model = train_classical(args.task, train_inputs, y_train, leaves=leaves)
            seconds = time.monotonic() - started
            results.append(
                {
                    "leaves": leaves or f"chosen: {model.tree_leaves}",
                    "test": round(score(args.task, model, test_inputs, y_test), 4),
                    "holdout_loss": round(-float(model.estimator.validation_score_[-1]), 5)
                    if len(getattr(model.estimator, "validation_score_", ()))
                    else None,
                    "rounds": int(model.estimator.n_iter_),
                    "seconds": round(seconds, 1),
                }
            )
    for row in results:
        print(json.dumps(row), flush=True)
    return results


def bags(task: str, sizes: list[int], splits: list[int], rows: int | None = None) -> list[dict]:
    """One model against bags of `sizes` members on each of `splits` of `rows` flights (None: all; see the
    module's docstring)."""
    raw = flights_raw(rows).assign(time_hour=lambda f: f["time_hour"].astype(str))
    target = raw["arr_delay"].to_numpy(float) if task == "regression" else raw["dep_time"].isna().to_numpy(int)
    results = []
    for seed in splits:
        order = np.random.default_rng(seed).permutation(len(raw))
        order = order[np.isfinite(target[order].astype(float))]
        cut = np.cumsum([int(0.70 * len(order)), int(0.15 * len(order))])
        rows = dict(zip(("train", "val", "test"), np.split(order, cut)))
        tree, x, estimator = tree_estimator(task, COLUMNS.inputs(raw.iloc[rows["train"]]), target[rows["train"]])
        xs = {name: tree.transform(COLUMNS.inputs(raw.iloc[rows[name]])) for name in ("val", "test")}
        started = time.monotonic()
        single = classical._grown_trees(clone(estimator), x, target[rows["train"]])
        arms = {"one model": ([single], time.monotonic() - started)}
        started = time.monotonic()
        first = classical._grown_trees(
            estimator.set_params(max_features=classical._BAG_FEATURES), x, target[rows["train"]]
        )
        members = [first, *classical.bag_members(first, x, target[rows["train"]], max(sizes) - 1)]
        seconds = (time.monotonic() - started) / len(members)
        arms.update({f"bag of {k}": (members[:k], seconds * k) for k in sizes})
        for name, (models, seconds) in arms.items():
            results.append(
                {"split": seed, "arm": name, "leaves": models[0].max_leaf_nodes, "seconds": round(seconds, 1)}
            )
            results[-1].update(
                _bag_scores(task, classical.TreeBag(models), xs, target[rows["val"]], target[rows["test"]])
            )
            print(json.dumps(results[-1]), flush=True)
    for name in dict.fromkeys(r["arm"] for r in results):
        values = [r["test"] for r in results if r["arm"] == name]
        print(f"{name}: mean test {np.mean(values):.4f} over splits {splits}", flush=True)
    return results


def _bag_scores(task: str, bag, xs: dict, y_val: np.ndarray, y_test: np.ndarray) -> dict:
    if task == "regression":
        return {"test": round(float(np.mean(np.abs(bag.predict(xs["test"]) - y_test))), 4)}
    val, test = bag.predict_proba(xs["val"])[:, 1], bag.predict_proba(xs["test"])[:, 1]
    f1 = [f1_score(y_val, (val >= t).astype(int), average="macro") for t in classical.THRESHOLD_GRID]
    threshold = float(classical.THRESHOLD_GRID[int(np.argmax(f1))])
    return {
        "threshold": threshold,
        "test": round(f1_score(y_test, (test >= threshold).astype(int), average="macro"), 4),
    }


if __name__ == "__main__":
    main()
