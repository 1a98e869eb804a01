"""Braid against the models a user would try instead, on the shared real sets, head by head.

One session, one after another, on the README's split (80/20 of `numpy.random.default_rng(0).permutation`)
and features: Braid through the library (`import components as ak`, AutoModel, default tuner,
3 trials x 5 epochs, medians over seeds), the classical baselines
(`components.evaluation.classical`), AutoKeras 3.0.0 at the same trial x epoch budget and AutoGluon
Tabular at 60 s per head and at Braid's measured wall clock, both in their own virtualenvs
(benchmarks/peers/make_venvs.sh). Run by hand, not in CI:

    python -m benchmarks.real_sets                                   # movies and posters, everything
    python -m benchmarks.real_sets --sets movies --seeds 0 --peers classical autokeras autogluon
    python -m benchmarks.real_sets --peers braid_scratch classical   # Braid with and without pretrained encoders
    python -m benchmarks.real_sets --smoke --out /tmp/bench          # seconds: tiny synthetic set
    python -m benchmarks.real_sets --redraw                          # table + plot from the JSON only

Appends to results/real_sets.json and rewrites results/real_sets.md and results/real_sets.png.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks import report, sets, systems

RESULTS = Path(__file__).resolve().parent / "results"
PEERS = ("braid_scratch", "classical", "autokeras", "autogluon")
# (metric, goal, higher is better) per head, from ../shared/datasets/README.md
GOALS = {
    "movies": {"genres": ("micro-F1", 0.60, True), "vote_average": ("MAE", 0.58, False)},
    "posters": {
        "genres": ("micro-F1", 0.62, True),
        "imdb_score": ("MAE", 0.50, False),
        "content_rating": ("accuracy", 0.62, True),
    },
    # image -> class on a small real set: at least logistic regression on raw pixels (0.97) and AutoKeras
    "digits": {"digit": ("accuracy", 0.97, True)},
    "synthetic": {"genres": ("micro-F1", 0.5, True), "score": ("MAE", 1.0, False), "kind": ("accuracy", 0.6, True)},
}
# AutoKeras 3.0 as the README measured it (3 trials x 5 epochs), shown when it is not re-run here
README_AUTOKERAS = {
    "movies": ({"genres": 0.331, "vote_average": 0.884}, 56.0),
    "posters": ({"genres": 0.273, "imdb_score": 1.136, "content_rating": 0.369}, 963.0),
}


def run_set(bench: sets.BenchSet, seeds: list[int], trials: int, epochs: int, peers: list[str]) -> dict:
    started = time.monotonic()
    entry = {
        "set": bench.name,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "trials": trials,
        "epochs": epochs,
        "seeds": seeds,
        "split": "80/20 of numpy.random.default_rng(0).permutation",
        **bench.spec(),
        "trivial": systems.trivial(bench),
        "systems": {},
        "goals": {k: {"metric": m, "value": v, "higher": h} for k, (m, v, h) in GOALS[bench.name].items()},
    }
    print(f"{bench.name}: {len(bench.train)} train / {len(bench.test)} test rows", flush=True)
    braid = entry["systems"]["braid"] = systems.braid_over_seeds(bench, seeds, trials, epochs)
    if "braid_scratch" in peers:
        entry["systems"]["braid_scratch"] = systems.braid_over_seeds(bench, seeds, trials, epochs, pretrained=False)
    if "classical" in peers:
        entry["systems"]["classical"] = systems.score(bench, systems.run_classical(bench, seed=0))
    set_dir = bench.save(sets.WORK / f"set-{bench.name}") if {"autokeras", "autogluon"} & set(peers) else None
    if "autokeras" in peers:
        run = systems.run_peer("autokeras", set_dir, ["--trials", str(trials), "--epochs", str(epochs), "--seed", "0"])
        entry["systems"]["autokeras"] = systems.score(bench, run)
    elif bench.name in README_AUTOKERAS:
        figures, seconds = README_AUTOKERAS[bench.name]
        entry["systems"]["autokeras"] = {
            "heads": {k: {"value": v} for k, v in figures.items()},
            "seconds": seconds,
            "source": "README, not re-run",
        }
    if "autogluon" in peers:
        for key, per_head in (("autogluon", 60.0), ("autogluon_wallclock", braid["seconds"] / len(bench.heads))):
            run = systems.run_peer("autogluon", set_dir, ["--seconds-per-head", f"{per_head:.1f}"])
            entry["systems"][key] = systems.score(bench, run)
    for name, result in entry["systems"].items():
        print(f"  {name}: {systems.summary(result)}", flush=True)
    entry["session_seconds"] = round(time.monotonic() - started, 1)
    return entry


def write(entries: list[dict], out: Path) -> dict[str, Path]:
    """Appends `entries` to out/real_sets.json and redraws the table and plot from the whole history."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "real_sets.json", "md": out / "real_sets.md", "png": out / "real_sets.png"}
    history = json.loads(paths["json"].read_text()) if paths["json"].is_file() else []
    history.extend(entries)
    paths["json"].write_text(json.dumps(history, indent=1))
    paths["md"].write_text(
        "# Real sets: Braid and the alternatives, head by head\n\n"
        "Regenerated by `python -m benchmarks.real_sets` from the latest entry per set in "
        "real_sets.json.\n\n" + report.markdown(history)
    )
    report.plot(history, paths["png"])
    return paths


def main(argv: list[str] | None = None) -> dict[str, Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets", nargs="+", default=["movies", "posters"], choices=sorted(set(GOALS) & set(sets.LOADERS))
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=PEERS)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny synthetic set, 1 trial x 1 epoch, seed 0, classical only"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of real_sets.json/.md/.png")
    parser.add_argument("--redraw", action="store_true", help="only redraw the table and plot from the JSON")
    args = parser.parse_args(argv)
    if args.redraw:
        return write([], args.out)
    if args.smoke:
        return write([run_set(sets.synthetic(), [0], 1, 1, ["classical"])], args.out)
    paths = {}
    for name in args.sets:
        # written set by set, so a later set's crash keeps the earlier results
        paths = write([run_set(sets.LOADERS[name](), args.seeds, args.trials, args.epochs, args.peers)], args.out)
    return paths


if __name__ == "__main__":
    main()
