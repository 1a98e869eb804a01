"""The benchmark suite: Braid and the models a user would try instead, on many sets, head by head.

    python -m benchmarks.suite                                      # every set, Braid seeds 0 1 2
    python -m benchmarks.suite --sets digits mnist rotten_tomatoes --seeds 0 --trials 2 --epochs 3
    python -m benchmarks.suite --sets flights --rows 336776         # all flights (default: 20,000)
    python -m benchmarks.suite --quick --sets synthetic breast_cancer --out /tmp/suite   # seconds
    python -m benchmarks.suite --redraw                             # table + plot from the JSON only
    python -m benchmarks.suite --only autokeras --sets digits mnist # a peer beside the stored Braid runs
    python -m benchmarks.suite --keep-peers --sets movies           # Braid again, the peers' stored results kept

Each set (`benchmarks/sets.py`) on its README split, every system in the same run, scored by the same
code (`systems.score`) on the same test rows:

- **braid**: the library as a user calls it (`systems.run_braid`), medians over `--seeds`; 3 trials x 5
  epochs, 2 x 5 on image-only sets (`--trials`/`--epochs` override both);
- **linear_probe**: logistic / ridge regression on Braid's frozen encoder features (+ the table);
- **classical**: logistic regression on pixels, TF-IDF + logistic regression, HistGradientBoosting;
- **autokeras**, **autogluon**: in their own virtualenvs when built (`peers/make_venvs.sh`), else "not built";
- **trivial**: the train-fitted constant of each head.

The primary metric is accuracy (classification), micro-F1 (multi-label) or MAE (regression), except
where a set names another (flights' cancelled: macro-F1). Each head is also normalised (0 = trivial,
1 = perfect; MAE: 1 - value / trivial's), and each system gets its mean rank over the heads it ran.
results/suite.json keeps the latest entry per set (a run replaces the sets it ran and keeps the others);
suite.md and suite.png are redrawn from it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from benchmarks import report, sets, systems
from components.evaluation.metrics import higher_is_better

RESULTS = Path(__file__).resolve().parent / "results"
SETS = (
    "digits",
    "digits32",
    "mnist",
    "posters_image",
    "posters",
    "movies",
    "rotten_tomatoes",
    "flights",
    "demo",
    "breast_cancer",
    "basic_motions",
    "japanese_vowels",
    "spoken_digits",
)
SYSTEMS = ("braid", "linear_probe", "classical", "autokeras", "autogluon", "trivial")
LABELS = {
    "braid": "Braid",
    "linear_probe": "linear probe",
    "classical": "classical",
    "autokeras": "AutoKeras",
    "autogluon": "AutoGluon 60 s/head",
    "trivial": "trivial",
}
QUICK = {"seeds": [0], "trials": 1, "epochs": 1, "flights_rows": 2000, "demo_rows": 300}


def load(name: str, flights_rows: int | None, demo_rows: int) -> sets.BenchSet:
    if name == "flights":
        return sets.flights(flights_rows)
    if name == "demo":
        return sets.demo(demo_rows)
    return sets.LOADERS[name]()


def budget(bench: sets.BenchSet, trials: int | None, epochs: int | None) -> tuple[int, int]:
    """Braid's trials x epochs: 3 x 5, image-only sets 2 x 5, unless given."""
    return trials or (2 if bench.only_images() else 3), epochs or 5


PEERS = ("autokeras", "autogluon")
PEER_TIMEOUT_S = 1800  # AutoKeras counts "where it finishes within 30 minutes"; longer is a timeout


def run_peers(bench: sets.BenchSet, trials: int, epochs: int, names: tuple[str, ...] = PEERS) -> dict:
    out, set_dir = {}, None
    for name in names:
        if name == "autogluon" and bench.only_images():
            out[name] = {"error": "not applicable: AutoGluon Tabular has no image model"}
            continue
        if bench.series is not None:  # AutoKeras 3 dropped its time-series models; AutoGluon Tabular has none
            out[name] = {"error": "not applicable: no model for a series column"}
            continue
        if not systems.peer_built(name):
            out[name] = {"error": "not built (benchmarks/peers/make_venvs.sh)"}
            continue
        set_dir = set_dir or bench.save(sets.WORK / f"set-{bench.name}")
        args = (
            ["--trials", str(trials), "--epochs", str(epochs), "--seed", "0"]
            if name == "autokeras"
            else ["--seconds-per-head", "60"]
        )
        out[name] = systems.score(bench, systems.run_peer(name, set_dir, args, timeout=PEER_TIMEOUT_S))
    return out


def stored_entry(bench: sets.BenchSet, out: Path, option: str) -> dict:
    """The entry suite.json holds for this set, on this set's split; `option` names the flag that needs it."""
    stored = (
        json.loads((out / "suite.json").read_text())["sets"].get(bench.name) if (out / "suite.json").is_file() else None
    )
    if stored is None:
        raise SystemExit(f"{option}: {out / 'suite.json'} holds no '{bench.name}' yet; run the set first")
    if (stored["train_rows"], stored["test_rows"]) != (len(bench.train), len(bench.test)):
        raise SystemExit(
            f"{option}: the stored {bench.name} has {stored['train_rows']} train / {stored['test_rows']} test rows, "
            f"this one {len(bench.train)} / {len(bench.test)}; give the --rows it ran with"
        )
    return stored


def stored_peers(bench: sets.BenchSet, out: Path, trials: int, epochs: int) -> dict:
    """The peers' stored results on this set (`--keep-peers`): they do not depend on Braid's code, and
    AutoKeras alone takes up to 30 minutes a set. They ran at the stored budget, so this run must match it."""
    stored = stored_entry(bench, out, "--keep-peers")
    if (stored["trials"], stored["epochs"]) != (trials, epochs):
        raise SystemExit(
            f"--keep-peers: the peers on {bench.name} ran at {stored['trials']} trials x {stored['epochs']} epochs, "
            f"this run {trials} x {epochs}; give the same --trials/--epochs (or run the peers too)"
        )
    return {name: stored["systems"][name] for name in PEERS if name in stored["systems"]}


def rerun_peers(bench: sets.BenchSet, names: tuple[str, ...], out: Path) -> dict:
    """The named peers again on a set suite.json already holds, beside its stored results (Braid's kept):
    a peer built after the set ran need not rerun Braid's seeds. Same split, same budget as stored."""
    stored = stored_entry(bench, out, "--only")
    print(f"{bench.name}: {', '.join(names)} beside the stored run of {stored['date']}", flush=True)
    results = run_peers(bench, stored["trials"], stored["epochs"], names)
    for name, result in results.items():
        print(f"  {name}: {systems.summary(result)}", flush=True)
        result["date"] = time.strftime("%Y-%m-%d %H:%M")
    entry = {**stored, "systems": {**stored["systems"], **results}}
    entry["normalised"] = normalised(entry)
    return entry


def run_set(bench: sets.BenchSet, seeds: list[int], trials: int, epochs: int, peers: dict | None = None) -> dict:
    """Every system on one set; the entry suite.json keeps for it. `peers`: the peers' results to keep
    instead of running them (`stored_peers`)."""
    started, code = time.monotonic(), code_version()  # before the run: later edits do not belong to it
    print(
        f"{bench.name}: {len(bench.train)} train / {len(bench.test)} test rows, Braid {trials} x {epochs}, "
        f"seeds {seeds}",
        flush=True,
    )
    results = {
        "braid": systems.braid_over_seeds(bench, seeds, trials, epochs),
        "linear_probe": systems.score(bench, systems.run_linear_probe(bench)),
        "classical": systems.score(bench, systems.run_classical(bench, seed=0)),
        **(run_peers(bench, trials, epochs) if peers is None else peers),
        "trivial": {"heads": systems.trivial(bench), "seconds": 0.0},
    }
    for name, result in results.items():
        print(f"  {name}: {systems.summary(result)}", flush=True)
    entry = {
        "set": bench.name,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "code": code,
        "trials": trials,
        "epochs": epochs,
        "seeds": seeds,
        **bench.spec(),
        "systems": results,
    }
    entry["normalised"] = normalised(entry)
    entry["session_seconds"] = round(time.monotonic() - started, 1)
    return entry


def code_version() -> str:
    """The commit the figures came from (`-dirty`: with uncommitted changes), as Braid's defaults keep moving."""
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def normalised(entry: dict) -> dict[str, dict[str, float]]:
    """`{head: {system: score}}`: 0 = the trivial baseline, 1 = perfect."""
    out = {}
    for head in entry["heads"]:
        base = entry["systems"]["trivial"]["heads"][head["name"]]["value"]
        out[head["name"]] = {
            name: report.normalised(value, base, higher_is_better(head["metric"]))
            for name, value in _values(entry, head["name"]).items()
        }
    return out


def _values(entry: dict, head: str) -> dict[str, float]:
    return {name: result["heads"][head]["value"] for name, result in entry["systems"].items() if "heads" in result}


def ranks(entries: list[dict]) -> dict[str, dict]:
    """Each system's mean rank (1 = best, ties averaged) over the heads it ran, among the systems that ran
    that head (the trivial baseline included), and its mean normalised score over the same heads."""
    per_system: dict[str, list[tuple[float, float]]] = {}
    for entry in entries:
        for head in entry["heads"]:
            values = _values(entry, head["name"])
            sign = -1.0 if higher_is_better(head["metric"]) else 1.0
            places = rankdata([sign * v for v in values.values()])
            for (name, _), place in zip(values.items(), places):
                per_system.setdefault(name, []).append((float(place), entry["normalised"][head["name"]][name]))
    return {
        name: {
            "mean_rank": float(np.mean([p for p, _ in pairs])),
            "heads": len(pairs),
            "mean_normalised": float(np.mean([n for _, n in pairs])),
        }
        for name, pairs in sorted(per_system.items(), key=lambda item: np.mean([p for p, _ in item[1]]))
    }


def _cell(result: dict, head: str, score: float | None) -> str:
    if "heads" not in result:
        return (
            "not built"
            if "not built" in str(result.get("error"))
            else "n/a"
            if "not applicable" in str(result.get("error"))
            else "failed"
        )
    text = f"{result['heads'][head]['value']:.3f}"
    if "min" in result and result["min"][head] != result["max"][head]:
        text += f" [{result['min'][head]:.3f}-{result['max'][head]:.3f}]"
    return text + (f" ({score:+.2f})" if score is not None else "")


def markdown(document: dict) -> str:
    entries = list(document["sets"].values())
    lines = [
        "# Benchmark suite: Braid and the alternatives, set by set, head by head",
        "",
        "Regenerated by `python -m benchmarks.suite` from suite.json (the latest run of each set). Cells: "
        "the head's primary metric on the test split, Braid's median over seeds [min-max], and in "
        "parentheses the normalised score (0 = trivial baseline, 1 = perfect; MAE: 1 - value / trivial's).",
        "",
        "## Mean rank over the heads each system ran (1 = best)",
        "",
        "| system | mean rank | heads | mean normalised score |",
        "|---|---|---|---|",
    ]
    for name, row in document["ranks"].items():
        lines.append(
            f"| {LABELS.get(name, name)} | {row['mean_rank']:.2f} | {row['heads']} | {row['mean_normalised']:.3f} |"
        )
    for entry in entries:
        systems_ = [s for s in SYSTEMS if s in entry["systems"]]
        lines += [
            "",
            f"## {entry['set']}",
            "",
            f"{entry['train_rows']:,} train / {entry['test_rows']:,} test rows; Braid {entry['trials']} trials x "
            f"{entry['epochs']} epochs, seeds {entry['seeds']}; {entry['date']}, code {entry.get('code', '?')}.",
            "",
            "| head (metric) | " + " | ".join(LABELS[s] for s in systems_) + " |",
            "|---|" + "---|" * len(systems_),
        ]
        for head in entry["heads"]:
            scores = entry["normalised"][head["name"]]
            cells = [
                _cell(entry["systems"][s], head["name"], scores.get(s) if s != "trivial" else None) for s in systems_
            ]
            lines.append(f"| {head['name']} ({head['metric']}) | " + " | ".join(cells) + " |")
        seconds = " · ".join(
            f"{LABELS[s]} {entry['systems'][s]['seconds']:.0f} s"
            for s in systems_
            if s != "trivial" and entry["systems"][s].get("seconds")
        )
        lines += ["", f"Fit seconds (Braid: median over seeds): {seconds}."]
        for name in systems_:
            error = entry["systems"][name].get("error")
            if error and "heads" not in entry["systems"][name]:
                lines.append(f"- {LABELS[name]}: {error}")
    return "\n".join(lines) + "\n"


def plot(document: dict, path: Path) -> Path:
    names, series = [], {LABELS[s]: [] for s in SYSTEMS if s != "trivial"}
    for entry in document["sets"].values():
        for head in entry["heads"]:
            names.append(f"{entry['set']}\n{head['name']}")
            for name in SYSTEMS[:-1]:
                series[LABELS[name]].append(entry["normalised"][head["name"]].get(name, np.nan))
    return report.bar_chart(
        names, series, path, "Benchmark suite: test split, each head normalised (missing bar: not run)"
    )


def write(entries: list[dict], out: Path) -> dict[str, Path]:
    """Puts `entries` into out/suite.json (replacing those sets' earlier entries) and redraws suite.md/.png."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "suite.json", "md": out / "suite.md", "png": out / "suite.png"}
    document = json.loads(paths["json"].read_text()) if paths["json"].is_file() else {"sets": {}}
    for entry in entries:
        document["sets"][entry["set"]] = entry
    document["ranks"] = ranks(list(document["sets"].values()))
    document["updated"] = time.strftime("%Y-%m-%d %H:%M")
    paths["json"].write_text(json.dumps(document, indent=1))
    paths["md"].write_text(markdown(document))
    plot(document, paths["png"])
    return paths


def main(argv: list[str] | None = None) -> dict[str, Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=sorted(sets.LOADERS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="Braid's search seeds")
    parser.add_argument("--trials", type=int, help="Braid's trials (default 3; image-only sets 2)")
    parser.add_argument("--epochs", type=int, help="Braid's epochs per trial (default 5)")
    parser.add_argument(
        "--rows",
        type=int,
        default=sets.FLIGHT_ROWS,
        help=f"flights drawn before the split (default {sets.FLIGHT_ROWS:,}; 336776 = all)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke budget: seed 0, 1 trial x 1 epoch, 2,000 flights, 300 demo rows"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of suite.json/.md/.png")
    parser.add_argument("--redraw", action="store_true", help="only redraw the table and plot from the JSON")
    parser.add_argument(
        "--keep-peers",
        action="store_true",
        help="rerun Braid and the baselines, keeping the peers' stored results on these sets (same split)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=PEERS, help="run only these peers on sets suite.json holds, keeping the rest"
    )
    args = parser.parse_args(argv)
    if args.redraw:
        return write([], args.out)
    seeds, demo_rows, rows = args.seeds, 2000, args.rows
    if args.quick:
        seeds, demo_rows, rows = QUICK["seeds"], QUICK["demo_rows"], min(rows, QUICK["flights_rows"])
    paths = {}
    for name in args.sets:
        bench = load(name, rows, demo_rows)
        if args.only:
            paths = write([rerun_peers(bench, tuple(args.only), args.out)], args.out)
            continue
        trials, epochs = budget(
            bench, QUICK["trials"] if args.quick else args.trials, QUICK["epochs"] if args.quick else args.epochs
        )
        peers = stored_peers(bench, args.out, trials, epochs) if args.keep_peers else None
        # written set by set, so a later set's crash keeps the earlier results
        paths = write([run_set(bench, seeds, trials, epochs, peers)], args.out)
    return paths


if __name__ == "__main__":
    main()
