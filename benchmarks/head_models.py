"""The library's `head_models`: per head, the network alone against what `head_models="auto"` serves
(the network, gradient boosting or their blend, chosen on the validation rows), on the suite's tables.

Run by hand (not by tests):
    nice -n 5 python -m benchmarks.head_models [--sets breast_cancer flights flights_dates] [--trials 2]
        [--epochs 3] [--seed 0] [--modes network auto] [--out benchmarks/results/head_models.json]
Writes benchmarks/results/head_models.json (or --out). `--modes auto` runs one search per set: its
network alone is the "network" figure. flights_dates is flights as a user brings it (the departure as
one datetime instead of hand-made numeric date parts).

Per set, two searches with the same seed (`systems.run_braid`, the library as a user calls it), one after
the other on the same machine: `head_models="network"` and `"auto"`. The choice comes after the search and
changes no trial, so both networks are the same (`network_alone_matches` checks it on the test scores);
each head's primary metric on the test split, and each fit's seconds (auto's include fitting, choosing
and refitting the classical models).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks import sets, systems

RESULTS = Path(__file__).resolve().parent / "results" / "head_models.json"
SETS = {
    "breast_cancer": sets.breast_cancer,
    "flights": lambda: sets.flights(20_000),
    "flights_dates": lambda: sets.flights_dates(20_000),
}


def compare(name: str, seed: int, trials: int, epochs: int, modes: tuple[str, ...] = ("network", "auto")) -> dict:
    """One set: each head's scores with "network" and "auto", the choice with its validation figures,
    and both fits' seconds. With "auto" alone, "network" is auto's network alone (the same network)."""
    bench = SETS[name]()
    systems.WORK.mkdir(parents=True, exist_ok=True)
    runs = {}
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix="head-models-", dir=systems.WORK) as workdir:
            run = systems.run_braid(bench, seed, trials, epochs, Path(workdir) / "search", False, head_models=mode)
        runs[mode] = run
    auto = systems.score(bench, runs["auto"])
    alone = systems.score(bench, replace(runs["auto"], predictions=runs["auto"].network))
    network = systems.score(bench, runs["network"]) if "network" in runs else alone
    heads = {
        head.name: {
            "metric": head.primary,
            "network": network["heads"][head.name]["value"],
            "auto": auto["heads"][head.name]["value"],
            "choice": runs["auto"].info["head_choices"][head.name],
        }
        for head in bench.heads
    }
    return {
        "rows": len(bench.frame),
        "seconds": {mode: systems.score(bench, run)["seconds"] for mode, run in runs.items()},
        "network_alone_matches": all(alone["heads"][h]["value"] == heads[h]["network"] for h in heads)
        if "network" in runs
        else None,
        "heads": heads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", nargs="+", default=["network", "auto"], choices=["network", "auto"])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if "auto" not in args.modes:
        parser.error("--modes must include auto")
    results = {"trials": args.trials, "epochs": args.epochs, "seed": args.seed, "sets": {}}
    for name in args.sets:
        results["sets"][name] = entry = compare(name, args.seed, args.trials, args.epochs, tuple(args.modes))
        for head, figures in entry["heads"].items():
            print(
                f"{name} {head} {figures['metric']}: network {figures['network']:.4f}, auto {figures['auto']:.4f}"
                f" ({figures['choice']}); fit seconds {entry['seconds']}",
                flush=True,
            )
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
