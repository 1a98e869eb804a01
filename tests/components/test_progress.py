"""Progress reports: validation counts rows, the search counts epochs of trials, a failing listener is harmless."""

import re

import numpy as np

import components as ak
from components.data.contract import load_contract
from components.data.validation import validate
from components.progress import Progress, SearchProgress, listen, report


def test_listeners_get_reports_and_a_failing_one_harms_nothing():
    seen = []

    def broken(event):
        raise RuntimeError("a display that crashed")

    with listen(seen.append), listen(broken):
        report("search", 1, 4, "trial 1")
    report("search", 2, 4)  # no one listens any more
    assert seen == [Progress("search", 1, 4, "trial 1")]


def test_validation_reports_the_rows_it_checked(tmp_path, demo_contract_factory):
    contract = load_contract(demo_contract_factory(tmp_path, rows=30, image_size=8))
    seen = []
    with listen(seen.append):
        validate(contract, tmp_path / "validation")
    assert seen and {e.stage for e in seen} == {"validate"} and seen[-1].done == 30


def test_search_progress_counts_epochs_and_says_each_trial_once(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    seen = []
    model = ak.AutoModel(
        inputs=ak.Input(),
        outputs=ak.RegressionHead(),
        max_trials=2,
        directory=tmp_path,
        overwrite=True,
        seed=0,
        observers=[SearchProgress(max_trials=2, epochs=2, objective="val_loss")],
    )
    with listen(seen.append):
        model.fit(x, y, epochs=2, verbose=0)
    done = [e.done for e in seen]
    assert done == sorted(done) and done[-1] == seen[-1].total == 4
    # A log keeps one line per trial: its end, with the objective's value and the seconds it took.
    ends = [e.detail for e in seen if e.milestone]
    assert [d.split(":")[0] for d in ends] == ["trial 1/2 completed", "trial 2/2 completed"], ends
    assert all(re.fullmatch(r"trial \d/2 completed: val_loss \d+\.\d{4} \(\d+\.\d s\)", d) for d in ends), ends
