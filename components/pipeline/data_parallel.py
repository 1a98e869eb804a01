"""Data-parallel refit (`training.data_parallel_workers: N`): the final model's trials trained by N worker
processes at once under `tf.distribute.MultiWorkerMirroredStrategy`.

After the search (whose trials keep running on keras-tuner's workers, `search_workers`), the pipeline's
AutoModel hands the picked trials to `DataParallelRefit`: it starts N processes of
`components.pipeline.data_parallel_worker`, each with its `TF_CONFIG` (the cluster's addresses on
127.0.0.1, its index), its share of the cores (or one GPU) and a spec naming the contract, the shards and
the trials. Each worker rebuilds the same AutoModel and data, builds each trial's model under the
strategy and trains it on its share of every global batch; all save the weights, worker 0's (the chief's)
are the ones the pipeline loads into the final model. A worker that dies is named with the end of its
log and the others are stopped by process group; no worker outlives the pipeline (PR_SET_PDEATHSIG).

    python -m components.pipeline.data_parallel_worker SPEC.json    # what is started, per worker
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from components.errors import SearchError
from components.pipeline.search_workers import LocalWorkers, placed_environment, placements

log = logging.getLogger(__name__)

PREFIX = "dp-worker"
RESULT = "refit.json"  # per worker: trial id → weights file and history
POLL_S = 0.5


def addresses(count: int, host: str = "127.0.0.1") -> list[str]:
    """`count` distinct free "host:port" addresses for a cluster's workers."""
    from components.ports import free_port

    ports: list[int] = []
    while len(ports) < count:
        port = free_port(host)
        if port not in ports:
            ports.append(port)
    return [f"{host}:{port}" for port in ports]


class DataParallelRefit:
    """`AutoModel.refit_runner` that trains the refit's trials on `count` MultiWorkerMirroredStrategy workers.

    Args:
        count: worker processes (2 or more).
        spec: what a worker needs to rebuild the search's AutoModel and data (`train.search_and_train`:
            contract, home, prepared shards, rows, settings, search folder).
        folder: where the spec, the logs and each worker's weights go.
        timeout_s: the longest the refit may take (None: no limit); past it the workers are stopped.
        gpus: GPUs to place workers on (one each, round robin); 0: CPU cores shared out.
    """

    def __init__(self, count: int, spec: dict[str, Any], folder: Path, timeout_s: float | None = None, gpus: int = 0):
        self.count, self.spec, self.folder = int(count), dict(spec), Path(folder)
        self.timeout_s, self.gpus = timeout_s, gpus

    def __call__(self, jobs: list[dict]) -> dict[str, tuple[str, dict[str, list[float]]]]:
        """Train `jobs` (`final_fit.refit_jobs`); returns trial id → (the chief's weights file, its history)."""
        from components.automl.multiworker import CHIEF_INDEX, tf_config

        self.folder.mkdir(parents=True, exist_ok=True)
        spec_path = self.folder / "refit_spec.json"
        spec_path.write_text(json.dumps({**self.spec, "jobs": jobs, "folder": str(self.folder)}, indent=1, default=str))
        cluster = addresses(self.count)
        cores = (
            sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
        )
        workers, placed = LocalWorkers(), {}
        try:
            for index, place in enumerate(placements(self.count, self.gpus, cores)):
                env = placed_environment(place)
                env["TF_CONFIG"] = tf_config(cluster, index)
                env.pop("BRAID_CPU_LOGICAL_DEVICES", None)  # one replica per worker: the cluster is the split
                name = f"{PREFIX}{index}"
                module = "components.pipeline.data_parallel_worker"
                placed[name] = {
                    **workers.start(name, module, spec_path, env, self.folder, place),
                    "address": cluster[index],
                }
            (self.folder / "workers.json").write_text(json.dumps(placed, indent=1))
            log.info(
                "data-parallel refit of %d trial(s) on %s (logs in %s)", len(jobs), ", ".join(cluster), self.folder
            )
            wait(workers, self.timeout_s, self.folder)
        finally:
            workers.stop()
        result = json.loads((self.folder / f"{PREFIX}{CHIEF_INDEX}" / RESULT).read_text())
        return {trial_id: (entry["weights"], entry["history"]) for trial_id, entry in result.items()}


def wait(workers: LocalWorkers, timeout_s: float | None, folder: Path) -> None:
    """Until every worker exits with 0. Raises SearchError naming the first that failed (the end of its log)
    or, past `timeout_s`, the ones still running; either way the caller stops the others."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        exited = workers.exited()
        failed = {name: code for name, code in exited.items() if code}
        if failed:
            name, code = next(iter(failed.items()))
            pid = workers.processes[name].pid
            raise SearchError(
                f"data-parallel worker {name} (pid {pid}) exited with code {code}: {_reason(workers.logs[name])} "
                f"(its log: {workers.logs[name]}); the other workers were stopped. "
                "Fix the cause, or set training.data_parallel_workers: 1 to refit in one process."
            )
        if len(exited) == len(workers):
            return
        if deadline is not None and time.monotonic() > deadline:
            running = sorted(set(workers.processes) - set(exited))
            raise SearchError(
                f"data-parallel refit still running after {timeout_s:.0f} s ({', '.join(running)}): stopped "
                f"(logs in {folder})."
            )
        time.sleep(POLL_S)


def _reason(log_path: Path, lines: int = 80) -> str:
    """The last line of a worker's log that names an error (TensorFlow ends its messages with node names),
    else its last line."""
    if not log_path.exists():
        return "no output"
    tail = [line.strip() for line in log_path.read_text(errors="replace").splitlines()[-lines:] if line.strip()]
    errors = [line for line in tail if "Error" in line.split(":", 1)[0] or line.startswith(("Error", "error"))]
    return ((errors or tail or ["no output"])[-1])[:400]
