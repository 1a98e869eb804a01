"""Braid on the real multi-task sets in ../shared/datasets/, at AutoKeras's budget (3 trials x 5 epochs).

Runs the whole training pipeline (validation, preprocessing, search, evaluation, registry) on each
contract in a fresh Braid home and compares the test-split metrics with the goals and peers' figures
from ../shared/datasets/README.md. Run by hand, not in CI:

    .venv/bin/python -m benchmarks.real_sets                 # posters and movies
    .venv/bin/python -m benchmarks.real_sets posters --trials 3 --epochs 5

Results go to benchmarks/results/real_sets.json (one entry per contract and run).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "real_sets.json"

# metric key in the pipeline's evaluation → (goal, higher is better, AutoKeras 3.0's figure)
GOALS = {
    "posters": {
        "test.genres.micro_f1": (0.62, True, 0.273),
        "test.imdb_score.mae": (0.50, False, 1.136),
        "test.content_rating.accuracy": (0.62, True, 0.369),
    },
    "movies": {
        "test.genres.micro_f1": (0.60, True, 0.331),
        "test.vote_average.mae": (0.58, False, 0.884),
    },
}


def run(contract: str, trials: int, epochs: int, tuner: str) -> dict:
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from flows.training import training_pipeline

    home = Path(tempfile.mkdtemp(prefix=f"braid-bench-{contract}-"))
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    started = time.monotonic()
    summary = training_pipeline(contract=str(ROOT / "data_contracts" / f"{contract}.yaml"), max_trials=trials,
                                epochs=epochs, tuner=tuner, seed=0, home=str(home))
    seconds = time.monotonic() - started
    metrics = summary["evaluated"]["metrics"]
    rows = []
    for key, (goal, higher, autokeras) in GOALS.get(contract, {}).items():
        value = metrics.get(key)
        baseline = metrics.get(key.replace("test.", "baseline.", 1))
        met = value is not None and (value >= goal if higher else value <= goal)
        rows.append({"metric": key, "braid": value, "baseline": baseline, "goal": goal, "autokeras_3": autokeras,
                     "goal_met": met})
    return {"contract": contract, "trials": trials, "epochs": epochs, "tuner": tuner, "seconds": round(seconds, 1),
            "combined_score": summary["evaluated"]["combined_score"], "metrics": rows,
            "leaderboard": summary["trained"]["leaderboard"], "home": str(home),
            "date": time.strftime("%Y-%m-%d %H:%M")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contracts", nargs="*", default=["posters", "movies"])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--tuner", default="bayesian")
    args = parser.parse_args()
    history = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    for contract in args.contracts:
        result = run(contract, args.trials, args.epochs, args.tuner)
        history.append(result)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(history, indent=1))
        print(f"\n{contract}: {result['seconds']} s, combined score {result['combined_score']:.3f}")
        for row in result["metrics"]:
            print(f"  {row['metric']:32s} braid {row['braid']:.3f}  baseline {row['baseline']:.3f}  "
                  f"goal {row['goal']}  AutoKeras {row['autokeras_3']}  {'MET' if row['goal_met'] else 'missed'}")


if __name__ == "__main__":
    main()
