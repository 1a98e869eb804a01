"""What the memory bounds cost (issue 29, item 3): the classical baseline and the profile on all of a
split's rows against a bounded sample (`components.pipeline.rows.bounded_positions`: seeded, stratified
on the class), on all 336,776 flights.

    nice .venv/bin/python -m benchmarks.bounded_memory            # --max-rows 200000 100000 50000

Each case runs in a fresh subprocess (its peak RSS is its own `ru_maxrss`); the table is read whole in every
child (the benchmark's reader, `sets.flights`), so `fit_peak_mb` — the peak over what the child held once
the table was read — is what the step itself costs. The pipeline reads only the sampled rows (one scan of the
source, `rows_with_ids`). Figures go to `results/bounded_memory.json`.

- classical: HistGradientBoosting per head (`fit_classical`, as the pipeline fits it) on the 80% training
  rows (269,420) or a sample of them, scored on the same 20% test rows: cancelled macro-F1 and ROC AUC,
  arr_delay MAE, fit seconds.
- profile: `profile_frame` of the training rows or of a sample, then `evaluation.drift.compare` of the
  sample's profile against the whole one (what the next run's drift check would see): the largest PSI and
  whether any check drifts.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "bounded_memory.json"
REFERENCE = Path(__file__).resolve().parent / ".work" / "flights_train_profile.json"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _positions(train: np.ndarray, strata: np.ndarray, max_rows: int | None) -> np.ndarray:
    from components.pipeline.rows import bounded_positions

    return train[bounded_positions(len(train), max_rows, seed=0, strata=strata[train])]


def classical(max_rows: int | None) -> dict:
    from sklearn.metrics import f1_score, mean_absolute_error, roc_auc_score

    from benchmarks import sets
    from benchmarks.systems import _classical_inputs
    from components.evaluation.classical import fit_classical

    bench = sets.flights(None)
    loaded = _rss_mb()
    rows = _positions(bench.train, bench.targets["cancelled"], max_rows)
    test = _classical_inputs(bench, bench.test)
    started, out = time.monotonic(), {"train_rows": len(rows)}
    for head in bench.heads:
        known = bench.known(head, rows)
        fit = fit_classical(
            head.task,
            _classical_inputs(bench, known),
            bench.targets[head.name][known],
            test,
            seed=0,
            log_numbers=False,
        )
        truth = bench.targets[head.name][bench.test]
        if head.task == "classification":
            out["cancelled_macro_f1"] = float(f1_score(truth, fit.y_pred.argmax(1), average="macro"))
            out["cancelled_roc_auc"] = float(roc_auc_score(truth, fit.y_pred[:, 1]))
        else:
            seen = np.isfinite(truth)
            out["arr_delay_mae"] = float(mean_absolute_error(truth[seen], fit.y_pred.reshape(-1)[seen]))
    out["fit_s"] = time.monotonic() - started
    out["rss_after_read_mb"], out["peak_rss_mb"] = loaded, _rss_mb()
    out["fit_peak_mb"] = out["peak_rss_mb"] - loaded
    return out


def flights_contract():
    """A contract of the flights columns the profile reads (what is known before departure, two targets)."""
    from benchmarks import sets
    from components.data.contract import Contract

    return Contract.model_validate(
        {
            "name": "flights",
            "source": {"path": str(sets.datasets_root() / "flights" / "flights.csv.zip"), "format": "csv"},
            "id_column": "id",
            "features": [
                *({"name": c, "modality": "numerical"} for c in ("month", "day", "hour", "sched_dep_time", "distance")),
                *({"name": c, "modality": "categorical"} for c in ("carrier", "tailnum", "origin", "dest")),
                {"name": "time_hour", "modality": "datetime"},
            ],
            "targets": [
                {"name": "arr_delay", "task": "regression"},
                {"name": "cancelled", "task": "classification"},
            ],
        }
    )


def profile(max_rows: int | None) -> dict:
    import pandas as pd

    from benchmarks import sets
    from components.data.profile import profile_frame
    from components.evaluation.drift import compare

    raw = pd.read_csv(sets.datasets_root() / "flights" / "flights.csv.zip")
    raw["id"] = np.arange(len(raw)).astype(str)
    raw["cancelled"] = np.where(raw["dep_time"].isna(), "cancelled", "flew")
    contract = flights_contract()
    train = np.sort(np.random.default_rng(0).permutation(len(raw))[: int(0.8 * len(raw))])
    strata = raw["cancelled"].to_numpy()
    reference = REFERENCE.exists() and max_rows is not None  # the whole split's profile, from the "all" case
    whole = json.loads(REFERENCE.read_text()) if reference else None
    loaded = _rss_mb()
    rows = _positions(train, strata, max_rows)
    started = time.monotonic()
    current = profile_frame(contract, raw.iloc[rows], reference=whole)
    out = {"train_rows": len(rows), "profile_s": time.monotonic() - started}
    out["rss_after_read_mb"], out["peak_rss_mb"] = loaded, _rss_mb()
    out["profile_peak_mb"] = out["peak_rss_mb"] - loaded
    if max_rows is None:
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        REFERENCE.write_text(json.dumps(current))
    elif whole is not None:
        report = compare(whole, current)
        psi = [c for c in report.checks if c.statistic in ("psi", "target_psi") and c.value is not None]
        top = max(psi, key=lambda c: c.value)
        out["max_psi_vs_whole"] = {"column": top.column, "psi": float(top.value)}
        out["drifted_vs_whole"] = [f"{c.column} {c.statistic}" for c in report.drifted]
    return out


def _child(kind: str, max_rows: int | None) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bounded_memory", "--child", kind, "--rows", str(max_rows or 0)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{kind} {max_rows}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, nargs="+", default=[200_000, 100_000, 50_000])
    parser.add_argument("--child", choices=["classical", "profile"])
    parser.add_argument("--rows", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        print(json.dumps((classical if args.child == "classical" else profile)(args.rows or None)))
        return
    results = {}
    for kind in ("classical", "profile"):
        for rows in [None, *args.max_rows]:
            key = f"{kind}.{rows or 'all'}"
            results[key] = _child(kind, rows)
            print(key, json.dumps(results[key]), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
