"""Same seed, same search: `braid run CONTRACT --seed N` twice logs the same trials and test metrics."""

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from components.layout import Layout

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # two whole `braid run`s: `make test-e2e`


def _runs(home: Path) -> tuple[dict, list[dict]]:
    client = MlflowClient(Layout(home).mlflow_uri)
    experiment = client.get_experiment_by_name("braid-demo")
    runs = client.search_runs([experiment.experiment_id])
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    trials = sorted(
        (
            {
                "trial": r.data.tags["braid.trial_id"],
                "params": r.data.params,
                "val_loss": round(r.data.metrics["val_loss"], 5),
            }
            for r in runs
            if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id
        ),
        key=lambda t: t["trial"],
    )
    metrics = {k: v for k, v in parent.data.metrics.items() if k.startswith(("test/", "classical/"))}
    return metrics, trials


def test_braid_run_twice_with_one_seed_logs_the_same_trials_and_metrics(braid_runs):
    first, second, contract = braid_runs
    for done in (first, second):
        assert done.returncode == 0, done.stderr[-3000:]
    homes = [contract.parent / name for name in ("first", "second")]
    (metrics_a, trials_a), (metrics_b, trials_b) = [_runs(home) for home in homes]
    assert trials_a == trials_b and len(trials_a) == 2
    assert metrics_a.keys() == metrics_b.keys()
    for key, value in metrics_a.items():
        assert metrics_b[key] == pytest.approx(value, abs=1e-5), key
