"""Step 3's warm start: tonight's search begins with the best configurations of the champion's run and the
latest finished runs of the same schema, champion first, at most a third of the budget; a changed schema
starts cold and says why."""

import json

import pytest

from components.pipeline.runs import SCHEMA_TAG, experiment_name, schema_fingerprint, tracker_for
from components.pipeline.warm import TRIALS_ARTIFACT, warm_start
from tests.components.pipeline.support import crown


def _trial(units: int, status: str = "COMPLETED") -> dict:
    return {"trial_id": str(units), "status": status, "hyperparameters": {"units": units}}


@pytest.fixture
def earlier(tiny_demo, layout):
    """`earlier(trials, schema=...)`: a finished parent run of the tiny demo that kept `trials` (best first);
    returns (its id, the experiment id)."""
    contract = tiny_demo[0]
    tracker = tracker_for(layout)
    experiment_id = tracker.experiment_id(experiment_name(contract))

    def make(trials: list[dict], schema: str | None = None) -> tuple[str, str]:
        tags = {"braid.contract": contract.name, SCHEMA_TAG: schema or schema_fingerprint(contract)}
        run_id = tracker.start_run(experiment_id, "earlier", tags)
        tracker.log_text(run_id, json.dumps({"trials": trials}), TRIALS_ARTIFACT)
        tracker.end_run(run_id)
        return run_id, experiment_id

    return make


def test_the_first_run_starts_cold(tiny_demo, layout):
    contract = tiny_demo[0]
    experiment_id = tracker_for(layout).experiment_id(experiment_name(contract))
    warm = warm_start(contract, layout, experiment_id, "tonight", max_trials=9)
    assert warm.configurations == [] and warm.note.startswith("cold: no earlier finished run")


def test_the_champions_best_come_first_then_each_runs_best_then_the_runners_up(tiny_demo, layout, earlier):
    contract = tiny_demo[0]
    champion, experiment_id = earlier([_trial(1), _trial(9, "FAILED"), _trial(2), _trial(3)])
    newest, _ = earlier([_trial(4), _trial(1), _trial(5)])
    crown(contract, layout, champion)
    tonight = tracker_for(layout).start_run(experiment_id, "tonight", {"braid.contract": contract.name})
    warm = warm_start(contract, layout, experiment_id, tonight, max_trials=12)
    # rank 1 of each run (champion's first), then rank 2 of each; failed and repeated ones left out; 12 // 3
    assert warm.configurations == [{"units": u} for u in (1, 4, 2, 3)]
    assert warm.sources == [champion, newest] and tonight not in warm.sources
    assert warm.note == "warm: 4 configuration(s) from 2 earlier run(s) (the champion's first)"
    fewer = warm_start(contract, layout, experiment_id, tonight, max_trials=2)
    assert fewer.configurations == [{"units": 1}], "at least one, at most a third of the budget"


def test_a_changed_schema_starts_cold_and_says_why(tiny_demo, layout, earlier):
    contract = tiny_demo[0]
    run_id, experiment_id = earlier([_trial(1)], schema="0123456789abcdef")
    warm = warm_start(contract, layout, experiment_id, "tonight", max_trials=9)
    assert warm.configurations == []
    assert warm.note == (
        f"cold: the features or targets changed since run {run_id} "
        f"(schema 0123456789abcdef → {schema_fingerprint(contract)})"
    )


def test_earlier_runs_without_a_completed_trial_leave_the_search_cold(tiny_demo, layout, earlier):
    contract = tiny_demo[0]
    run_id, experiment_id = earlier([_trial(1, "FAILED"), {"trial_id": "2", "status": "COMPLETED"}])
    warm = warm_start(contract, layout, experiment_id, "tonight", max_trials=9)
    assert warm.configurations == [] and warm.sources == [run_id]
    assert warm.note == "cold: the earlier runs kept no completed trial"
