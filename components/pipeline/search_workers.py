"""Search workers: processes beside the pipeline that run trials for its oracle (`training.workers`).

The pipeline's search step becomes the chief of a keras-tuner distributed search
(`automl.tuners.distributed`): it starts `workers` processes of this module, each with its own
`KERASTUNER_TUNER_ID`, its share of the CPU cores (or one GPU, `CUDA_VISIBLE_DEVICES`), and a
spec file naming the contract, the preprocessed shards and the MLflow parent run. Each worker
reads the same shards, builds the same AutoModel and logs its trials as nested runs of the same
parent; the chief keeps the oracle, sees a worker that dies (its trial fails, the search goes on),
then ensembles and refits the best trials from the shared search folder.

    python -m components.pipeline.worker SPEC.json    # what the chief starts, per worker (`worker.py`)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKER_PREFIX = "worker"
WORKER_TAG = "braid.search_worker"  # on each trial run: the worker that ran it
TUNER_ID = "KERASTUNER_TUNER_ID"
CHIEF_PID = "BRAID_SEARCH_CHIEF_PID"
PR_SET_PDEATHSIG = 1


@dataclass
class LocalWorkers:
    """The worker processes of one search, by tuner id (what `AutoModel(workers=...)` watches)."""

    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)  # stopped by `stop`, not failed

    def __len__(self) -> int:
        return len(self.processes)

    def exited(self) -> dict[str, int | None]:
        return {tuner_id: code for tuner_id, process in self.processes.items() if (code := process.poll()) is not None}

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop the workers still running (their process groups): SIGTERM, then SIGKILL after `grace_s`."""
        running = [p for p in self.processes.values() if p.poll() is None]
        self.stopped.update(t for t, p in self.processes.items() if p in running)
        for process in running:
            _signal_group(process, signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()

    def start(
        self, name: str, module: str, spec_path: Path, env: dict[str, str], folder: Path, place: dict[str, Any]
    ) -> dict[str, Any]:
        """Start `python -m module spec_path` as worker `name` (its own process group, its log in `folder`);
        returns where it runs (for `workers.json`)."""
        log_path = folder / f"{name}.log"
        with log_path.open("w") as log_file:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", module, str(spec_path)],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.logs[name] = log_path
        return {"pid": self.processes[name].pid, "log": str(log_path), **place}

    def failures(self) -> dict[str, str]:
        """Tuner id → the last lines of its log, for each worker that exited with an error."""
        return {
            tuner_id: _tail(self.logs.get(tuner_id))
            for tuner_id, code in self.exited().items()
            if code and tuner_id not in self.stopped
        }


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _tail(path: Path | None, lines: int = 5) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])


def placements(count: int, gpus: int, cores: list[int]) -> list[dict[str, Any]]:
    """Where each worker runs: one GPU each when there are GPUs (round robin), else its share of the
    cores (at least one; workers share cores when there are more workers than cores)."""
    if gpus:
        return [{"gpu": i % gpus, "cores": None} for i in range(count)]
    share = max(1, len(cores) // count)
    return [{"gpu": None, "cores": [cores[(i * share + j) % len(cores)] for j in range(share)]} for i in range(count)]


def start_workers(count: int, spec: dict[str, Any], folder: Path, host: str, port: int, gpus: int = 0) -> LocalWorkers:
    """Start `count` worker processes for the search served at host:port; their spec and logs go in `folder`."""
    from components.automl.tuners.distributed import environment

    folder.mkdir(parents=True, exist_ok=True)
    spec_path = folder / "worker_spec.json"
    spec_path.write_text(json.dumps(spec, indent=1, default=str))
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    workers, placed = LocalWorkers(), {}
    for i, place in enumerate(placements(count, gpus, cores)):
        tuner_id = f"{WORKER_PREFIX}{i}"
        env = {**placed_environment(place), **environment(tuner_id, host, port)}
        placed[tuner_id] = workers.start(tuner_id, "components.pipeline.worker", spec_path, env, folder, place)
    (folder / "workers.json").write_text(json.dumps(placed, indent=1))  # which process is which worker
    return workers


def placed_environment(place: dict[str, Any]) -> dict[str, str]:
    """The environment of a worker process at `place` (`placements`): its GPU, or its cores and threads."""
    env = {**os.environ, CHIEF_PID: str(os.getpid())}
    if place["gpu"] is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(place["gpu"])
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""  # CPU workers: no GPU to fight over
        env["BRAID_WORKER_CORES"] = ",".join(map(str, place["cores"]))
        threads = str(len(place["cores"]))
        env.update(TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS=threads, OMP_NUM_THREADS=threads)
    return env
