"""One data-parallel refit worker: `python -m components.pipeline.data_parallel_worker SPEC.json`,
started by `data_parallel.DataParallelRefit` with its `TF_CONFIG`.

Apart from `data_parallel` (which only starts and watches processes) so that the training step, which
starts workers, and the worker, which builds the training step's AutoModel, import in one direction.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from components.pipeline.data_parallel import PREFIX, RESULT
from components.pipeline.worker import start_worker


def run_worker(spec: dict[str, Any]) -> None:
    """Train the spec's trials as this process's share of the cluster; save their weights and histories."""
    start_worker()
    from components.automl.multiworker import data_parallel_strategy, worker_index

    strategy = data_parallel_strategy()  # before any other TensorFlow work: it starts the collectives

    from components.data import records
    from components.data.contract import load_contract
    from components.pipeline.results import RunSettings
    from components.pipeline.train import build_automodel, datasets

    contract = load_contract(Path(spec["contract"]))
    config = RunSettings.from_dict(spec["settings"])
    train, val, batch = datasets(Path(spec["prepared"]), config, int(spec["train_rows"]))
    state = records.load_state(Path(spec["prepared"]))
    automodel = build_automodel(contract, state, Path(spec["search_dir"]), config, [])
    done = automodel.refit_trials(train, val, batch, config.epochs, spec["jobs"], strategy)
    # Every worker saves (the chief's copy is the model; the others show the weights stayed in step).
    out = Path(spec["folder"]) / f"{PREFIX}{worker_index()}"
    out.mkdir(parents=True, exist_ok=True)
    result = {}
    for job, (model, history) in zip(spec["jobs"], done):
        weights = out / f"{job['trial_id']}.weights.h5"
        model.inner.save_weights(weights)
        result[job["trial_id"]] = {
            "weights": str(weights),
            "history": {k: [float(v) for v in values] for k, values in history.history.items()},
        }
    (out / RESULT).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    run_worker(json.loads(Path(sys.argv[1]).read_text()))
