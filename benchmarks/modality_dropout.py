"""Modality dropout before/after: how much each head degrades when a modality is missing.

Run by hand (not by tests):
    nice -n 10 python -m benchmarks.modality_dropout [--rows 1000] [--trials 2] [--epochs 4] [--seeds 0 1]
Writes benchmarks/results/modality_dropout.json.

The whole pipeline (`flows.training.training_pipeline`, embedded defaults, a Braid home under
benchmarks/.work) runs on the demo set with the contract's `training: modality_dropout` fixed at 0
(never drop a modality while training) and at 0.3 (drop each modality's embedding for 30 % of the
training rows), fusion fixed to concatenate so that only the dropout differs. Figures: the test combined
score of the full model and, per modality, the combined score with that modality blanked on every test
row (`contribution/<modality>/combined_score` is the drop), medians over the seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import yaml

from components.settings import TELEMETRY_OFF

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "modality_dropout"
RESULTS = ROOT / "benchmarks" / "results" / "modality_dropout.json"
RATES = (0.0, 0.3)


def contract(rows: int, rate: float) -> Path:
    from components.data.demo import write_demo_data

    data = WORK / f"demo_{rows}"
    csv = data / "demo.csv"
    if not csv.is_file():
        write_demo_data(data, n_rows=rows, seed=0)
    raw = yaml.safe_load((ROOT / "data_contracts" / "demo.yaml").read_text())
    raw["name"] = f"dropout{int(rate * 100)}"
    raw["source"] = {"path": str(csv), "format": "csv", "image_root": str(data / "images")}
    raw.setdefault("training", {}).update({"modality_dropout": rate, "fusion": "concatenate"})
    path = WORK / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    for key, value in {
        **TELEMETRY_OFF,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
        "PREFECT_HOME": str(WORK / "prefect"),
    }.items():
        os.environ.setdefault(key, value)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    WORK.mkdir(parents=True, exist_ok=True)
    from flows.training import training_pipeline

    runs: dict[str, list[dict[str, float]]] = {str(rate): [] for rate in RATES}
    started = time.time()
    for seed in args.seeds:
        for rate in RATES:
            summary = training_pipeline(
                contract=str(contract(args.rows, rate)),
                max_trials=args.trials,
                epochs=args.epochs,
                tuner="greedy",
                seed=seed,
                home=str(WORK / "home"),
            )
            metrics = summary["evaluated"]["metrics"]
            row = {"full": metrics["test/combined_score"]}
            row |= {
                k.split("/")[1]: metrics["test/combined_score"] - v
                for k, v in metrics.items()
                if k.startswith("contribution/")
            }
            runs[str(rate)].append(row)
            print(f"seed {seed} dropout {rate}: {json.dumps({k: round(v, 4) for k, v in row.items()})}", flush=True)
    medians = {rate: {key: statistics.median(r[key] for r in rows) for key in rows[0]} for rate, rows in runs.items()}
    out = {
        "settings": vars(args),
        "runs": runs,
        "median_combined_score": medians,
        "wall_s": time.time() - started,
        "note": "per modality: the combined score with that modality blanked on every test row",
    }
    RESULTS.write_text(json.dumps(out, indent=1))
    modalities = [k for k in medians[str(RATES[0])] if k != "full"]
    print("| modality_dropout | full model | " + " | ".join(f"without {m}" for m in modalities) + " |")
    print("|---|---|" + "---|" * len(modalities))
    for rate, row in medians.items():
        print(f"| {rate} | {row['full']:.3f} | " + " | ".join(f"{row[m]:.3f}" for m in modalities) + " |")


if __name__ == "__main__":
    main()
