"""One search worker process: `python -m components.pipeline.worker SPEC.json`, started by
`search_workers.start_workers`; it runs trials for the chief's oracle until none are left.

Apart from `search_workers` (which only starts and places processes) so that the training step, which
starts workers, and the worker, which builds the training step's AutoModel, import in one direction.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from components.pipeline.search_workers import CHIEF_PID, PR_SET_PDEATHSIG, TUNER_ID, WORKER_TAG


def _die_with_chief() -> None:
    """Ask Linux to SIGKILL this worker when the chief dies, so no orphan waits for a dead oracle."""
    chief = int(os.environ.get(CHIEF_PID, "0"))
    if not chief or not sys.platform.startswith("linux"):
        return
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != chief:  # it died before the request took effect
        sys.exit(f"the search chief (pid {chief}) is gone")


def _pin_to_cores() -> None:
    cores = os.environ.get("BRAID_WORKER_CORES")
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(c) for c in cores.split(",")})


def start_worker() -> None:
    """What every worker process does first: die with the chief, keep to its cores and as many threads."""
    _die_with_chief()
    _pin_to_cores()
    import tensorflow as tf

    threads = os.environ.get("TF_NUM_INTRAOP_THREADS")
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))


def run_worker(spec: dict[str, Any]) -> None:
    """Run trials for the chief until it has none left (the worker side of `search_and_train`)."""
    start_worker()
    from components.data import records
    from components.data.contract import load_contract
    from components.layout import Layout
    from components.pipeline.results import RunSettings
    from components.pipeline.runs import tracker_for
    from components.pipeline.train import build_automodel, datasets

    contract = load_contract(Path(spec["contract"]))
    layout = Layout(Path(spec["home"]))
    config = RunSettings.from_dict(spec["settings"])
    train, val, batch = datasets(Path(spec["prepared"]), config, int(spec["train_rows"]))
    worker = os.environ.get(TUNER_ID, "")
    observer = tracker_for(layout).trial_observer(spec["experiment_id"], spec["run_id"], {WORKER_TAG: worker})
    state = records.load_state(Path(spec["prepared"]))
    automodel = build_automodel(contract, state, Path(spec["search_dir"]), config, [observer])
    automodel.fit(train, validation_data=val, epochs=config.epochs, batch_size=batch, verbose=0)


if __name__ == "__main__":
    run_worker(json.loads(Path(sys.argv[1]).read_text()))
