"""One search, 1 worker against 2: trials per hour on the same trial budget, each worker on one core.

Run by hand (not by tests):
    python -m benchmarks.distributed [--trials 6] [--epochs 3] [--repeats 3] [--workers 1 2]
Writes benchmarks/results/distributed.json.

The set is movies (overview text from scratch + 5 numbers → genres, vote_average; the 80 % training
split of `sets.split`). The chief (this process) serves the oracle (`automl.tuners.distributed`);
each worker is a process of this module pinned to one core (`sched_setaffinity`, one TensorFlow
thread), started the way `pipeline/search_workers.py` starts them. Timed: `AutoModel.fit` on the
chief with `refit=False, ensemble_size=1`, i.e. worker start-up (imports, data), every trial, and
loading the best one. Trials per hour = completed trials / that time; "in span" divides by the time
from the first trial's start to the last one's end instead (what a longer search converges to).
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

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "distributed.json"


def automodel(folder: Path, trials: int, workers=None):
    import components as ak
    from benchmarks import sets

    bench = sets.movies()
    table = ak.StructuredDataInput(
        name="table",
        column_names=list(bench.number_columns),
        column_types={c: "numerical" for c in bench.number_columns},
    )
    model = ak.AutoModel(
        inputs=[ak.TextInput(name="text"), table],
        outputs=[ak.ClassificationHead(name="genres", multi_label=True), ak.RegressionHead(name="vote_average")],
        max_trials=trials,
        tuner="random",
        seed=0,
        directory=folder,
        project_name="search",
        pretrained=False,
        refit=False,
        ensemble_size=1,
        workers=workers,
        observers=[Clock(folder)],
    )
    rows = bench.train
    x = [
        bench.frame["text"].to_numpy(dtype=str)[rows],
        bench.frame[list(bench.number_columns)].iloc[rows].reset_index(drop=True),
    ]
    y = [bench.targets["genres"][rows], bench.targets["vote_average"][rows]]
    return model, x, y


class Clock:
    """Notes when each trial begins and ends (`<folder>/<worker>.times`): the span the trials ran in."""

    def __init__(self, folder: Path):
        self.path = folder / f"{os.environ.get('KERASTUNER_TUNER_ID', 'chief')}.times"

    def _note(self, what: str, trial_id: str) -> None:
        with self.path.open("a") as notes:
            notes.write(f"{what} {trial_id} {time.time()}\n")

    def on_trial_begin(self, trial_id, hyperparameters):
        self._note("begin", trial_id)

    def on_trial_end(self, trial_id, *args):
        self._note("end", trial_id)


def trial_span(folder: Path) -> float:
    """Seconds from the first trial's start to the last trial's end, over every worker."""
    stamps = [line.split() for path in folder.glob("*.times") for line in path.read_text().splitlines()]
    begins = [float(t) for what, _, t in stamps if what == "begin"]
    ends = [float(t) for what, _, t in stamps if what == "end"]
    return max(ends) - min(begins)


def worker(folder: Path, trials: int, epochs: int) -> None:
    os.sched_setaffinity(0, {int(c) for c in os.environ["BRAID_WORKER_CORES"].split(",")})
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    model, x, y = automodel(folder, trials)
    model.fit(x, y, epochs=epochs, verbose=0)


def search(count: int, trials: int, epochs: int) -> dict:
    from components.automl.tuners.distributed import CHIEF, acting_as, environment
    from components.pipeline.search_workers import LocalWorkers, placements
    from components.ports import free_port

    cores = sorted(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="braid_distributed_") as tmp:
        folder, port = Path(tmp), free_port()
        workers = LocalWorkers()
        for i, place in enumerate(placements(count, 0, cores)):
            tuner_id = f"worker{i}"
            env = {
                **os.environ,
                **environment(tuner_id, "127.0.0.1", port),
                "CUDA_VISIBLE_DEVICES": "",
                "BRAID_WORKER_CORES": ",".join(map(str, place["cores"][:1])),
                "TF_CPP_MIN_LOG_LEVEL": "2",
            }
            log = (folder / f"{tuner_id}.log").open("w")
            workers.processes[tuner_id] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.distributed",
                    "--worker",
                    str(folder),
                    "--trials",
                    str(trials),
                    "--epochs",
                    str(epochs),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            workers.logs[tuner_id] = folder / f"{tuner_id}.log"
        started = time.monotonic()
        try:
            with acting_as(CHIEF, "127.0.0.1", port):
                model, x, y = automodel(folder, trials, workers)
                model.fit(x, y, epochs=epochs, verbose=0)
        finally:
            workers.stop()
        seconds = time.monotonic() - started
        completed = sum(r["status"] == "COMPLETED" for r in model.leaderboard())
        failures = workers.failures()
        span = trial_span(folder)
    return {
        "workers": count,
        "seconds": round(seconds, 1),
        "trial_span_s": round(span, 1),
        "completed": completed,
        "trials_per_hour": round(completed / seconds * 3600, 1),
        "trials_per_hour_in_span": round(completed / span * 3600, 1),
        "best_score": model.leaderboard()[0]["score"],
        "worker_failures": failures,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # the worker side
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.trials, args.epochs)
        return {}
    runs = []
    for repeat in range(args.repeats):  # alternate, so load drifts hit both arms alike
        for count in args.workers:
            run = search(count, args.trials, args.epochs)
            run["repeat"] = repeat
            runs.append(run)
            print(json.dumps(run), flush=True)
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cores": len(os.sched_getaffinity(0)),
        "trials": args.trials,
        "epochs": args.epochs,
        "runs": runs,
    }
    for key in ("trials_per_hour", "trials_per_hour_in_span"):
        medians = {count: statistics.median(r[key] for r in runs if r["workers"] == count) for count in args.workers}
        base = medians[min(args.workers)]
        result[f"median_{key}"] = medians
        result[f"speedup_{key}"] = {count: round(value / base, 2) for count, value in medians.items()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k.startswith(("median", "speedup"))}))
    return result


if __name__ == "__main__":
    main()
