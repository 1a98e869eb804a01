"""Flights ×1 and ×10 through the real `braid run`, with 1 and 2 preprocessing workers (issue 29).

Run by hand (not by tests), under `nice`:
    python -m benchmarks.scale [--factors 1 10] [--workers 1 2] [--fraction 1.0] [--runs 1]
    python -m benchmarks.scale --fraction 0.02 --factors 1 2 --workers 1 2     # a quick check, minutes
    python -m benchmarks.scale --factors 1 10 --workers 1 --validate-only     # `braid validate` alone

The ×k table is the flights table (`benchmarks.preprocess_dask.preprocessing_csv`: a row id and the cancelled
flag) repeated k times, copy i with its ids offset by i × (largest id + 1) and `time_hour` moved i whole
years later (month, day and hour kept), so ids and dates stay unique. It is written once per k under
benchmarks/.work/scale/ as Parquet, copy by copy (the ×k table is never in memory), in row groups of
`preprocess.part_rows` (100,000) rows: the Dask path cuts Parquet into parts at row-group boundaries, and
the one-process path streams it in batches like a CSV.

The contract is what `braid contract infer` drafts for that file, with the id column, the two targets
(arr_delay regression, cancelled classification) and `preprocess.workers` set; training keeps its
defaults. Each run is `python -m flows.cli run CONTRACT` (the `braid` command) in a fresh process and a
fresh Braid home. Its process tree is sampled every 0.2 s (psutil): the peak resident memory of every
process (the run, its Prefect API server, Dask workers, any search workers) and of their sum. The wall
per stage comes from the run's own Prefect records (each task run's and subflow run's start and end in
the Prefect database under the run's home), rows/s of preprocessing from the manifest's rows over the
preprocessing stage's wall. Writes benchmarks/results/scale.json and scale.md (a quick check with
--fraction below 1 writes under benchmarks/.work/scale/ instead); benchmarks/README.md ("scale") reports it.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.memory import watch_tree
from benchmarks.preprocess_dask import ENV, ROOT, preprocessing_csv

WORK = ROOT / "benchmarks" / ".work" / "scale"
RESULTS = ROOT / "benchmarks" / "results"
TARGETS = ("arr_delay", "cancelled")
ROW_GROUP_ROWS = 100_000  # = the contract's default preprocess.part_rows: one Dask part per row group
SAMPLE_S = 0.2
# The pipeline's stages as its Prefect task runs name them (flows/training.py); the Dask path's
# preprocessing is the subflow braid-preprocess-parts.
STAGES = {
    "validate": "validate",
    "preprocess": "preprocess",
    "braid-preprocess-parts": "preprocess",
    "drift": "drift",
    "search-and-train": "search_and_train",
    "evaluate": "evaluate",
    "register": "register",
    "report": "report",
}


def shift_copy(base: pd.DataFrame, copy: int, id_stride: int) -> pd.DataFrame:
    """Copy `copy` of the base table: ids + copy × id_stride, `time_hour` (ISO text) `copy` years later."""
    out = base.copy()
    out["id"] = base["id"] + copy * id_stride
    year = base["time_hour"].str.slice(0, 4).astype(int) + copy
    out["time_hour"] = year.astype(str) + base["time_hour"].str.slice(4)
    return out


def write_times(base: pd.DataFrame, factor: int, path: Path, row_group_rows: int = ROW_GROUP_ROWS) -> int:
    """Write `base` repeated `factor` times (`shift_copy`) to Parquet at `path`, one copy at a time.

    Returns:
        The rows written (factor × len(base)).
    """
    stride = int(base["id"].max()) + 1
    schema = pa.Schema.from_pandas(base, preserve_index=False)
    partial = path.with_suffix(".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with pq.ParquetWriter(partial, schema) as writer:
        for copy in range(factor):
            table = pa.Table.from_pandas(shift_copy(base, copy, stride), schema=schema, preserve_index=False)
            writer.write_table(table, row_group_size=row_group_rows)
            rows += table.num_rows
    os.replace(partial, path)  # a half-written table is never taken for a whole one
    return rows


def base_table(fraction: float) -> pd.DataFrame:
    """The flights table (id, features, targets), or a seeded row sample of it in the table's order."""
    base = pd.read_csv(preprocessing_csv(), dtype={"time_hour": str})
    if fraction < 1:
        base = base.sample(frac=fraction, random_state=0).sort_index().reset_index(drop=True)
    return base


def table_path(factor: int, fraction: float) -> Path:
    path = WORK / f"flights-x{factor}-f{fraction:g}.parquet"
    if not path.is_file():
        rows = write_times(base_table(fraction), factor, path)
        print(f"wrote {path.name}: {rows:,} rows", flush=True)
    return path


def contract_path(data: Path, workers: int) -> Path:
    """`braid contract infer`'s draft for `data` (it finds the id column and the targets' tasks itself,
    checked here) with `preprocess.workers` set."""
    from components.data.contract import load_contract
    from components.data.infer import infer_contract

    path = data.with_name(f"{data.stem}-w{workers}.yaml")
    draft = infer_contract(data, name="flights_scale", targets=TARGETS, contract_dir=path.parent)
    path.write_text(draft + f"preprocess: {{workers: {workers}}}\n")
    loaded = load_contract(path)
    tasks = {t.name: t.task for t in loaded.targets}
    if loaded.id_column != "id" or tasks != {"arr_delay": "regression", "cancelled": "classification"}:
        raise SystemExit(f"{path}: the draft's id column or tasks changed ({loaded.id_column}, {tasks}): edit here")
    return path


def load_contract_rows(contract: Path) -> int:
    """The rows of the Parquet table `contract` reads."""
    from components.data.contract import load_contract

    return pq.ParquetFile(load_contract(contract).source.path).metadata.num_rows


def _role(process: psutil.Process, root: int, verb: str) -> str:
    """What a process in the run's tree is, from its command line."""
    if process.pid == root:
        return f"braid {verb}"
    command = " ".join(process.cmdline())
    for needle, role in (
        ("uvicorn", "prefect API server"),
        ("resource_tracker", "multiprocessing resource tracker"),
        ("spawn_main", "dask worker"),
        ("forkserver", "dask worker"),
        ("search_workers", "search worker"),
        ("data_parallel_worker", "data-parallel worker"),
    ):
        if needle in command:
            return role
    return command[:80]


def stage_walls(prefect_db: Path) -> dict[str, float]:
    """Seconds per stage from the run's Prefect records (start to end of each task run / subflow run)."""
    walls: dict[str, float] = {}
    with sqlite3.connect(prefect_db) as db:
        # a subflow also shows as a task run of its parent (same name, same times): counted once, as the flow run
        rows = db.execute(
            "SELECT name, start_time, end_time FROM task_run WHERE id NOT IN "
            "(SELECT parent_task_run_id FROM flow_run WHERE parent_task_run_id IS NOT NULL) "
            "UNION ALL SELECT f.name, r.start_time, r.end_time FROM flow_run r JOIN flow f ON f.id = r.flow_id"
        ).fetchall()
    for name, start, end in rows:
        # a task run's name is its task's name + "-" + a short suffix
        stage = next((s for key, s in STAGES.items() if name == key or name.startswith(key + "-")), None)
        if stage is None or not start or not end:
            continue
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
        walls[stage] = walls.get(stage, 0.0) + seconds
    return walls


def measure(contract: Path, factor: int, workers: int, budget: tuple[str, ...] = (), verb: str = "run") -> dict:
    """One `braid run` (with `budget`'s options, if any; or `braid validate` alone) in a fresh process and
    home: stage walls, peak RSS per process and of the tree."""
    with tempfile.TemporaryDirectory(prefix="braid-scale-") as home:
        env = {**os.environ, **ENV, "BRAID_HOME": home, "PREFECT_HOME": str(Path(home) / "prefect")}
        for name in ("BRAID_DASK_ADDRESS", "PREFECT_API_URL", "MLFLOW_TRACKING_URI"):
            env.pop(name, None)
        log = WORK / f"{verb}-x{factor}-w{workers}.log"
        command = [sys.executable, "-m", "flows.cli", verb, str(contract), *(budget if verb == "run" else ())]
        load, at = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M:%S")
        started = time.perf_counter()
        with log.open("w") as out:
            child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            # pid → role, peak RSS and when, first and last seen (s from the start)
            peak_tree, seen = watch_tree(child, SAMPLE_S, lambda process: _role(process, child.pid, verb))
        wall = time.perf_counter() - started
        if child.returncode:
            raise SystemExit(f"braid {verb} ×{factor}, {workers} worker(s) failed ({child.returncode}); see {log}")
        if verb == "validate":  # no flow, no Prefect records: the command's wall is the stage's
            rows, stages = {"source": load_contract_rows(contract)}, {"validate": wall}
        else:
            manifest = next(Path(home, "data").glob("*/*/manifest.json"))
            rows = json.loads(manifest.read_text())["rows"]
            stages = stage_walls(Path(home) / "prefect" / "prefect.db")
    by_role: dict[str, float] = {}
    for process in seen.values():
        by_role[process["role"]] = max(by_role.get(process["role"], 0.0), process["peak"] / 2**20)
    total_rows = sum(rows.values())
    return {
        "factor": factor,
        "workers": workers,
        "training": "validate only" if verb == "validate" else " ".join(budget) or "default",
        "at": at,
        "rows": rows,
        "wall_s": wall,
        "stages_s": stages,
        "outside_stages_s": wall - sum(stages.values()),  # imports, the Prefect API's start, opening the run
        "preprocess_rows_per_s": total_rows / stages["preprocess"] if stages.get("preprocess") else None,
        "peak_rss_tree_mb": peak_tree / 2**20,
        "peak_rss_by_role_mb": by_role,
        "processes": [
            {
                "role": p["role"],
                "peak_rss_mb": round(p["peak"] / 2**20, 1),
                "first_s": round(p["first_s"], 1),
                "peak_s": round(p.get("peak_s", p["first_s"]), 1),  # when (against the log's [  s] lines)
                "last_s": round(p.get("last_s", p["first_s"]), 1),
            }
            for p in seen.values()
        ],  # fmt: skip
        "load_before": load,
        "load_after": os.getloadavg(),
    }


def summarise(runs: list[dict]) -> dict:
    """Medians per (factor, workers, training), and per process role the memory ratio of each factor to the
    smallest with the same workers and training."""
    summary: dict[str, dict] = {}
    for key in sorted({_key(r) for r in runs}):
        mine = [r for r in runs if _key(r) == key]
        stages = sorted({s for r in mine for s in r["stages_s"]})
        roles = sorted({s for r in mine for s in r["peak_rss_by_role_mb"]})
        summary[_name(key)] = {
            "factor": key[0],
            "workers": key[1],
            "training": key[2],
            "runs": len(mine),
            "rows": sum(mine[0]["rows"].values()),
            "wall_s": statistics.median(r["wall_s"] for r in mine),
            "stages_s": {s: statistics.median(r["stages_s"].get(s, 0.0) for r in mine) for s in stages},
            "preprocess_rows_per_s": statistics.median(r["preprocess_rows_per_s"] or 0.0 for r in mine),
            "peak_rss_tree_mb": statistics.median(r["peak_rss_tree_mb"] for r in mine),
            "peak_rss_by_role_mb": {
                s: statistics.median(r["peak_rss_by_role_mb"].get(s, 0.0) for r in mine) for s in roles
            },  # fmt: skip
        }
    for entry in summary.values():
        smallest = summary.get(_name((min(r["factor"] for r in runs), entry["workers"], entry["training"])))
        if smallest is entry or smallest is None:
            continue
        ratio = {r: mb / smallest["peak_rss_by_role_mb"][r] for r, mb in entry["peak_rss_by_role_mb"].items()
                 if smallest["peak_rss_by_role_mb"].get(r)}  # fmt: skip
        ratio["tree"] = entry["peak_rss_tree_mb"] / smallest["peak_rss_tree_mb"]
        entry["peak_rss_ratio_to_smallest"] = ratio
        entry["memory_goal_met"] = all(v <= 1.5 for v in ratio.values())
    return summary


def _key(run: dict) -> tuple[int, int, str]:
    return run["factor"], run["workers"], run.get("training", "default")


def _name(key: tuple[int, int, str]) -> str:
    return f"x{key[0]}-w{key[1]}" + ("" if key[2] == "default" else "-" + key[2].replace("--", "").replace(" ", ""))


def markdown(summary: dict) -> str:
    """The table benchmarks/README.md shows."""
    stages = ("validate", "preprocess", "drift", "search_and_train", "evaluate", "register", "report")
    head = ["table", "workers", "training", "rows", "wall s", *(f"{s} s" for s in stages), "preprocess rows/s",
            "peak tree MB", "peak per process MB"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for entry in summary.values():
        per_process = ", ".join(f"{r} {mb:,.0f}" for r, mb in entry["peak_rss_by_role_mb"].items())
        cells = [f"×{entry['factor']}", str(entry["workers"]), entry["training"], f"{entry['rows']:,}", f"{entry['wall_s']:.0f}",
                 *(f"{entry['stages_s'].get(s, 0.0):.0f}" for s in stages),
                 f"{entry['preprocess_rows_per_s']:,.0f}", f"{entry['peak_rss_tree_mb']:,.0f}", per_process]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    ratios = [(k, e) for k, e in summary.items() if "peak_rss_ratio_to_smallest" in e]
    if ratios:
        lines += [
            "",
            "| table | workers | training | peak RSS vs the smallest table, per process | ≤ 1.5× |",
            "|---|---|---|---|---|",
        ]
        for _, e in ratios:
            text = ", ".join(f"{r} {v:.2f}×" for r, v in e["peak_rss_ratio_to_smallest"].items())
            lines.append(
                f"| ×{e['factor']} | {e['workers']} | {e['training']} | {text} | {'yes' if e['memory_goal_met'] else 'no'} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--fraction", type=float, default=1.0, help="a seeded row sample of the base table")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--max-trials", type=int, help="passed to `braid run` (default: the contract's training)")
    parser.add_argument("--epochs", type=int, help="passed to `braid run` (default: the contract's training)")
    parser.add_argument("--validate-only", action="store_true", help="`braid validate` instead of `braid run`")
    parser.add_argument("--fresh", action="store_true", help="drop the runs already in the results file")
    parser.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/results (.work/scale if --fraction < 1)"
    )
    args = parser.parse_args(argv)
    out = args.out or (RESULTS if args.fraction >= 1 else WORK)
    out.mkdir(parents=True, exist_ok=True)
    budget = tuple(f"--{name}={value}" for name, value in (("max-trials", args.max_trials), ("epochs", args.epochs))
                   if value is not None)  # fmt: skip
    earlier = json.loads((out / "scale.json").read_text()) if (out / "scale.json").is_file() else {}
    # runs add up across invocations (×1 today, ×10 tonight) unless --fresh or another sample of the table
    runs = earlier.get("runs", []) if not args.fresh and earlier.get("fraction") == args.fraction else []
    for factor in args.factors:  # the smaller tables first: their figures are there if a larger one is stopped
        data = table_path(factor, args.fraction)
        for _ in range(args.runs):
            for workers in args.workers:  # interleaved: load drifts alike
                verb = "validate" if args.validate_only else "run"
                runs.append(measure(contract_path(data, workers), factor, workers, budget, verb))
                r = runs[-1]
                print(f"×{factor} {workers} worker(s): wall {r['wall_s']:.0f} s, stages "
                      + ", ".join(f"{s} {v:.0f}" for s, v in r["stages_s"].items())
                      + f"; peak tree {r['peak_rss_tree_mb']:,.0f} MB; load {r['load_before'][0]:.1f}", flush=True)  # fmt: skip
                summary = summarise(runs)
                result = {"fraction": args.fraction, "cpus": os.cpu_count(), "runs": runs, "median": summary}
                (out / "scale.json").write_text(json.dumps(result, indent=1) + "\n")  # after every run
                (out / "scale.md").write_text(markdown(summary))
    print(markdown(summarise(runs)))
    return result


if __name__ == "__main__":
    main()
