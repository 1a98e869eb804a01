"""All 336,776 flights through `braid run`, against the classical model and AutoGluon Tabular on the
run's own split (issue 25's "done when").

Run by hand (not by tests), under `nice`:
    python -m benchmarks.flights_run                          # Braid, then AutoGluon (medium quality)
    python -m benchmarks.flights_run --autogluon-seconds 300  # AutoGluon's time limit per head
    python -m benchmarks.flights_run --skip-braid             # AutoGluon against the last Braid run
    python -m benchmarks.flights_run --skip-braid --reuse-autogluon   # score both runs' predictions again

What it does, in order:
1. Writes benchmarks/.work/flights-run/flights.csv once: the shared flights.csv.zip with an `id` (its row
   number) and `cancelled` ("cancelled" where dep_time is missing, else "flew").
2. Drafts the contract with `braid contract infer --target arr_delay --target cancelled` and makes the
   edits a user must: it drops the columns known only after departure (`LEAKS`: dep_time, dep_delay,
   arr_time, air_time). Everything else is the draft's, training settings included (the defaults).
3. Runs the pipeline as `braid run` does (`flows.cli`'s `_run_training`, in a child process with a fresh
   Braid home), sampling the resident memory of its process tree every 0.2 s.
4. Reads the run's split (the prepared train, validation and test ids) and fits AutoGluon Tabular
   (`benchmarks/peers/run_autogluon.py`, presets medium_quality, one predictor per head, the set's primary
   metric) on the train + validation rows with the contract's features, then scores it on the test rows.
5. Compares each head's primary metric: Braid (the served choice), the pipeline's classical model (the
   run's own `classical/*` figures, same split) and AutoGluon.

Writes benchmarks/results/flights_run.json; benchmarks/README.md ("flights through braid run") reports it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import preprocess_dask, systems
from benchmarks.memory import peak_process, watch_tree
from benchmarks.sets import BenchSet, Head

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "flights-run"
RESULTS = ROOT / "benchmarks" / "results" / "flights_run.json"
LEAKS = ("dep_time", "dep_delay", "arr_time", "air_time")  # known only once the flight has left
HEADS = (Head("arr_delay", "regression"), Head("cancelled", "classification", ("cancelled", "flew"), "macro_f1"))


def flights_csv() -> Path:
    """The shared flights with `id` and `cancelled`, every column, written once under .work."""
    return preprocess_dask.flights_csv(WORK / "flights.csv")


def contract(csv: Path) -> tuple[Path, dict]:
    """The drafted contract with the leaking columns removed; returns its path and the features kept."""
    from ruamel.yaml import YAML

    from components.data.infer import infer_contract

    yaml = YAML()
    draft = yaml.load(infer_contract(csv, targets=("arr_delay", "cancelled")))
    draft["features"] = [f for f in draft["features"] if f["name"] not in LEAKS]
    draft["source"]["path"] = csv.name  # beside the contract, which paths are relative to
    path = WORK / "flights.yaml"
    buffer = io.StringIO()
    yaml.dump(draft, buffer)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    kept = {f["name"]: f["modality"] for f in draft["features"]}
    return path, kept


CHILD = """
import json, sys
from pathlib import Path
from flows.cli import _run_training
summary = _run_training(Path(sys.argv[1]))
Path(sys.argv[2]).write_text(json.dumps(summary, default=str))
"""


def run_braid(contract_path: Path) -> dict:
    """`braid run` on the contract in a fresh home: its summary, wall seconds and peak memory."""
    home = WORK / f"home-{time.strftime('%Y%m%d-%H%M%S')}"
    home.mkdir(parents=True)
    out = home / "summary.json"
    env = {
        **os.environ,
        **preprocess_dask.ENV,
        "BRAID_HOME": str(home),
        "PREFECT_HOME": str(home / "prefect"),
        "PYTHONPATH": str(ROOT),
    }
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(contract_path), str(out)],
        cwd=ROOT,
        env=env,
        stdout=open(home / "stdout.log", "w"),
        stderr=subprocess.STDOUT,
    )
    peak_sum, seen = watch_tree(child)
    peak_one = peak_process(seen)
    wall = time.monotonic() - started
    if child.returncode != 0 or not out.is_file():
        tail = (home / "stdout.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"braid run failed (exit {child.returncode}); the end of its log:\n{tail}")
    return {
        "home": str(home.relative_to(ROOT)),
        "wall_s": round(wall, 1),
        "peak_tree_mb": round(peak_sum / 2**20),
        "peak_process_mb": round(peak_one / 2**20),
        "summary": json.loads(out.read_text()),
    }


SPLITS = ("train", "val", "test")


def run_split(summary: dict) -> dict[str, np.ndarray]:
    """The run's train, validation and test rows (positions in flights.csv: its ids are row numbers)."""
    from components.data import records

    directory = summary["prepared"]["directory"]
    return {split: np.array(sorted(int(i) for i in records.split_ids(directory, split))) for split in SPLITS}


def bench_set(features: dict, split: dict[str, np.ndarray]) -> BenchSet:
    """The contract's features and targets as a benchmark set whose train is the run's train + validation."""
    raw = pd.read_csv(flights_csv())
    numbers = tuple(n for n, m in features.items() if m == "numerical")
    categories = tuple(n for n, m in features.items() if m == "categorical")
    dates = tuple(n for n, m in features.items() if m == "datetime")
    frame = raw[list(numbers)].astype(float)
    frame.insert(0, "text", "")
    for column in categories:
        frame[column] = (
            raw[column].astype(object).where(raw[column].notna(), None).map(lambda v: v if v is None else str(v))
        )
    for column in dates:
        frame[column] = pd.to_datetime(raw[column], utc=True).dt.tz_localize(None)
    targets = {
        "arr_delay": raw["arr_delay"].to_numpy(float),
        "cancelled": (raw["cancelled"] == "flew").to_numpy(np.int64),  # class index in HEADS' order
    }
    train = np.sort(np.concatenate([split["train"], split["val"]]))
    return BenchSet(
        "flights_run",
        frame,
        (),
        numbers,
        categories,
        HEADS,
        targets,
        train,
        split["test"],
        split_note="the braid run's split: train + validation → test",
        date_columns=dates,
    )


def braid_figures(summary: dict) -> dict:
    """Each head's primary metric for Braid's served model and the run's classical model, from the run."""
    metrics = summary["evaluated"]["metrics"]
    out = {}
    for head in HEADS:
        key = "mae" if head.task == "regression" else head.primary
        out[head.name] = {
            "metric": key,
            "braid": metrics.get(f"test/{head.name}/{key}"),
            "classical": metrics.get(f"classical/{head.name}/{key}"),
            "network": metrics.get(f"network/{head.name}/{key}"),
            "trivial": metrics.get(f"baseline/{head.name}/{key}"),
        }
    return out


def _last_peer(set_dir: Path) -> systems.Run:
    folders = sorted(set_dir.glob("autogluon-*/predictions.npz"), key=lambda p: p.stat().st_mtime)
    if not folders:
        raise SystemExit(f"no AutoGluon predictions under {set_dir}; run without --reuse-autogluon")
    with np.load(folders[-1]) as stored:
        predictions = {key[len("pred_") :]: stored[key] for key in stored.files}
    info = json.loads((folders[-1].parent / "result.json").read_text())
    return systems.Run("autogluon", predictions, float(info["seconds"]), info=info)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--autogluon-seconds", type=float, default=600.0, help="AutoGluon's time limit per head")
    parser.add_argument("--skip-braid", action="store_true", help="reuse the Braid run in the results file")
    parser.add_argument("--skip-autogluon", action="store_true", help="keep the last AutoGluon figures")
    parser.add_argument("--reuse-autogluon", action="store_true", help="score the last AutoGluon predictions again")
    args = parser.parse_args(argv)
    csv = flights_csv()
    contract_path, features = contract(csv)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if args.skip_braid:
        braid = previous["braid_run"]
    else:
        braid = run_braid(contract_path)
    summary = braid["summary"]
    figures = braid_figures(summary)
    result = {
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "load_average_at_end": os.getloadavg(),
        "contract_features": features,
        "dropped_as_leaks": list(LEAKS),
        "braid_run": braid,
        "figures": figures,
        "head_models": summary.get("trained", {}).get("head_models", {}),
    }
    if args.skip_autogluon:  # keep the last AutoGluon figures (same split when the Braid run is reused)
        for key in ("autogluon", "split_rows"):
            if key in previous:
                result[key] = previous[key]
        for head in HEADS:
            if "autogluon" in previous.get("figures", {}).get(head.name, {}):
                figures[head.name]["autogluon"] = previous["figures"][head.name]["autogluon"]
    else:
        split = run_split(summary)
        bench = bench_set(features, split)
        set_dir = bench.save(WORK / "set")
        if args.reuse_autogluon:  # the newest AutoGluon predictions on this split (run_peer's folder)
            peer = _last_peer(set_dir)
        else:
            peer = systems.run_peer(
                "autogluon", set_dir, ["--seconds-per-head", str(args.autogluon_seconds)], timeout=4 * 3600
            )
        scored = systems.score(bench, peer).get("heads", {})
        result["autogluon"] = {"seconds": round(peer.seconds, 1), "info": peer.info, "error": peer.error}
        for head in HEADS:
            if head.name in scored:
                figures[head.name]["autogluon"] = scored[head.name]["value"]
        result["split_rows"] = {name: len(rows) for name, rows in split.items()}
    RESULTS.write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps({"figures": figures, "wall_s": braid["wall_s"], "peak_tree_mb": braid["peak_tree_mb"]}, indent=1))
    return result


if __name__ == "__main__":
    main()
