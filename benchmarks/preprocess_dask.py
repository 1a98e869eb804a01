"""Preprocessing all 336,776 flights in one process and on a local Dask cluster (Prefect's Dask task runner).

Run by hand (not by tests), under `nice`:
    python -m benchmarks.preprocess_dask [--workers 1 2] [--runs 1]
Each run is a fresh process into a fresh Braid home, with a Prefect API already up (`flows.local_api`, as under
`braid run`): the wall time of the preprocessing call (for the Dask path: the local cluster's start and its worker
processes' imports, the Prefect subflow, the split plan, the parts' fits and shards), the manifest's
seconds (split plan to manifest), and the peak resident memory of the whole process tree (the run and its
Dask workers, sampled every 0.1 s), summed and of the largest process. Writes
benchmarks/results/preprocess_dask.json; benchmarks/README.md reports it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.memory import peak_process, watch_tree
from components.settings import TELEMETRY_OFF

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "flights-dask"
RESULTS = ROOT / "benchmarks" / "results" / "preprocess_dask.json"
# the environment of the Braid processes the benchmarks start (also scale and flights_run)
ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "CUDA_VISIBLE_DEVICES": "",
    **TELEMETRY_OFF,
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",  # as `braid` sets it (flows/cli.py)
}

CONTRACT = """name: flights
source: {{path: {csv}}}
id_column: id
features:
{features}
targets:
  - {{name: arr_delay, task: regression}}
  - {{name: cancelled, task: classification}}
preprocess: {{workers: {workers}}}
"""
NUMBERS = ("month", "day", "hour", "minute", "sched_dep_time", "sched_arr_time", "distance")
CATEGORIES = ("carrier", "tailnum", "origin", "dest")


def flights_csv(path: Path = WORK / "flights.csv", columns: tuple[str, ...] | None = None) -> Path:
    """flights.csv.zip with a row id and the cancelled flag (dep_time missing), written once to `path`:
    `columns` of it (None: every column of the file)."""
    import pandas as pd

    if not path.is_file():
        from benchmarks.sets import datasets_root

        raw = pd.read_csv(datasets_root() / "flights" / "flights.csv.zip")
        raw.insert(0, "id", range(len(raw)))
        raw["cancelled"] = raw["dep_time"].isna().map({True: "cancelled", False: "flew"})
        path.parent.mkdir(parents=True, exist_ok=True)
        raw[list(columns) if columns else raw.columns].to_csv(path, index=False)
    return path


def preprocessing_csv() -> Path:
    """The columns this benchmark preprocesses (known before departure, the two targets)."""
    return flights_csv(columns=("id", *NUMBERS, *CATEGORIES, "time_hour", "arr_delay", "cancelled"))


def contract_path(workers: int) -> Path:
    features = [f"  - {{name: {n}, modality: numerical}}" for n in NUMBERS]
    features += [f"  - {{name: {n}, modality: categorical}}" for n in CATEGORIES]
    features.append("  - {name: time_hour, modality: datetime}")
    path = WORK / f"flights-{workers}.yaml"
    path.write_text(CONTRACT.format(csv=preprocessing_csv(), features="\n".join(features), workers=workers))
    return path


def one_run(contract: str, home: str) -> None:
    """In the child process: preprocess once under a Prefect API of its own (as `braid run` has: the Dask
    workers report their task runs there), print the figures as JSON."""
    from components import pipeline
    from components.data.contract import load_contract
    from components.layout import Layout
    from flows.local_api import local_api
    from flows.preprocessing import on_dask, preprocess_on_dask

    loaded = load_contract(contract)
    data_hash = pipeline.fingerprint(loaded)
    runner = on_dask(loaded)
    with local_api():
        started = time.perf_counter()
        if runner is None:
            prepared = pipeline.preprocess(loaded, Layout(Path(home)), data_hash, None)
        else:
            prepared = preprocess_on_dask(loaded, data_hash, home, None, runner)
        wall = time.perf_counter() - started
    manifest = json.loads((Path(prepared.directory) / "manifest.json").read_text())
    print(json.dumps({"wall_s": wall, "manifest_s": manifest["seconds"], "rows": manifest["rows"],
                      "shards": len(manifest["shards"])}))  # fmt: skip


def measure(workers: int) -> dict:
    """One run in a fresh process and home; peak RSS of its process tree."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, **ENV, "BRAID_HOME": home, "PREFECT_HOME": str(Path(home) / "prefect")}
        env.pop("BRAID_DASK_ADDRESS", None)
        command = [sys.executable, "-m", "benchmarks.preprocess_dask", "--child", str(contract_path(workers)), home]
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        peak_sum, seen = watch_tree(child, every=0.1)
        peak_one = peak_process(seen)
        out = child.stdout.read()
        if child.returncode:
            raise SystemExit(f"run with {workers} worker(s) failed ({child.returncode})")
        figures = json.loads(out.strip().splitlines()[-1])
    return {
        **figures,
        "workers": workers,
        "peak_rss_tree_mb": peak_sum / 2**20,
        "peak_rss_process_mb": peak_one / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        return one_run(*args.child)
    load = os.getloadavg()
    runs = [measure(w) for _ in range(args.runs) for w in args.workers]  # interleaved: load drifts alike
    summary = {}
    for w in args.workers:
        mine = [r for r in runs if r["workers"] == w]
        summary[w] = {k: statistics.median(r[k] for r in mine) for k in ("wall_s", "manifest_s", "peak_rss_tree_mb",
                                                                          "peak_rss_process_mb")}  # fmt: skip
        print(f"{w} worker(s): " + ", ".join(f"{k} {v:.1f}" for k, v in summary[w].items()), flush=True)
    result = {"cpus": os.cpu_count(), "load_before": load, "load_after": os.getloadavg(), "runs": runs,
              "median": summary}  # fmt: skip
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
