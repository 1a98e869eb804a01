"""The library's `head_models`: per head, the network alone against what `head_models="auto"` serves
(the network, gradient boosting or their blend, chosen on the validation rows), on the suite's tables.

Run by hand (not by tests):
    nice -n 5 python -m benchmarks.head_models [--sets breast_cancer flights] [--trials 2] [--epochs 3] [--seed 0]
Writes benchmarks/results/head_models.json.

One search per set (`systems.run_braid`, the library as a user calls it): its network alone
(`export_model()`, what `head_models="network"` predicts: the choice comes after the search and changes
no trial) and what `predict` serves with "auto" are scored on the same test split, each head by its
primary metric; `seconds` is the whole fit, the classical models included.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks import sets, systems

RESULTS = Path(__file__).resolve().parent / "results" / "head_models.json"
SETS = {"breast_cancer": sets.breast_cancer, "flights": lambda: sets.flights(20_000)}


def compare(name: str, seed: int, trials: int, epochs: int) -> dict:
    """One set: each head's network-alone and served scores, and the choice with its validation figures."""
    bench = SETS[name]()
    systems.WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="head-models-", dir=systems.WORK) as workdir:
        run = systems.run_braid(bench, seed, trials, epochs, Path(workdir) / "search", pretrained=False)
    served, network = systems.score(bench, run), systems.score(bench, replace(run, predictions=run.network))
    heads = {
        head.name: {
            "metric": head.primary,
            "network": network["heads"][head.name]["value"],
            "auto": served["heads"][head.name]["value"],
            "choice": run.info["head_choices"][head.name],
        }
        for head in bench.heads
    }
    return {"rows": len(bench.frame), "seconds": served["seconds"], "heads": heads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = {"trials": args.trials, "epochs": args.epochs, "seed": args.seed, "sets": {}}
    for name in args.sets:
        results["sets"][name] = entry = compare(name, args.seed, args.trials, args.epochs)
        for head, figures in entry["heads"].items():
            print(
                f"{name} {head} {figures['metric']}: network {figures['network']:.4f}, auto {figures['auto']:.4f}"
                f" ({figures['choice']}); fit {entry['seconds']} s",
                flush=True,
            )
    RESULTS.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
