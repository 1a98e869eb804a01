"""Progress reports: validation counts rows, the search counts epochs of trials, a failing listener is harmless."""

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


def test_search_progress_counts_epochs_up_to_the_budget(tmp_path):
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
        observers=[SearchProgress(max_trials=2, epochs=2)],
    )
    with listen(seen.append):
        model.fit(x, y, epochs=2, verbose=0)
    done = [e.done for e in seen]
    assert done == sorted(done) and done[-1] == seen[-1].total == 4
    assert seen[-1].detail.startswith("2 of 2 trials done")
