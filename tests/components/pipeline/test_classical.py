"""The classical baseline beside each head: fitted on the pipeline's own train split, scored on its test rows."""

import numpy as np

from components.data import records
from components.data.contract import load_contract
from components.evaluation.classical import train_classical
from components.layout import Layout
from components.pipeline import prepare
from components.pipeline.assess import split_targets
from components.pipeline.classical import beats, classical_inputs, classical_reports
from components.pipeline.head_models import SHARED_TASKS
from components.pipeline.rows import holdout_rows


def test_classical_models_beat_the_trivial_baseline_on_the_demo(tmp_path, demo_contract_factory):
    contract = load_contract(demo_contract_factory(tmp_path, rows=300, image_size=8))
    layout = Layout(tmp_path / "home")
    prepared = prepare.preprocess(contract, layout, prepare.fingerprint(contract), None)
    state = records.load_state(prepared.directory)
    train_rows = holdout_rows(contract, records.split_ids(prepared.directory, "train"))
    test_rows = holdout_rows(contract, records.split_ids(prepared.directory, "test"))
    train_truth = split_targets(prepared.directory, "train", state)
    truth = split_targets(prepared.directory, "test", state)
    unseen = {name: np.zeros(len(y), bool) for name, y in truth.items()}
    reads = []

    def train_split():
        reads.append(1)
        return train_rows, train_truth

    reports, recipes = classical_reports(contract, state, train_split, test_rows, truth, unseen, seed=0)
    assert len(reads) == 1  # the training rows are read once for every head
    assert set(reports) == set(recipes) == {"kind", "score", "tags"}
    assert reports["kind"].n_samples == len(test_rows)
    # The demo's score is a function of the numbers and the date; tags partly of the text words.
    assert reports["score"].metrics["mae"] < np.mean(np.abs(truth["score"] - train_truth["score"].mean()))
    assert reports["tags"].metrics["micro_f1"] > 0.3
    assert beats(reports, reports, state) == {"kind": True, "score": True, "tags": True}
    # strictly: no model beats itself (the gate's test against the trivial baseline)
    assert beats(reports, reports, state, strict=True) == {"kind": False, "score": False, "tags": False}

    # The head choice's models, fitted on the same rows with the same seed, are the same baselines: the
    # evaluation scores them instead of fitting them again, and reads the training rows only for the rest.
    train = classical_inputs(contract, train_rows)
    fitted = {}
    for spec, codec, fitted_target in state.target_specs():
        if spec.task in SHARED_TASKS:
            known = codec.known(train_truth[spec.name])
            n_classes = len(codec.names(fitted_target)) if spec.task == "classification" else 0
            fitted[spec.name] = train_classical(
                spec.task, train.take(known), train_truth[spec.name][known], seed=0, n_classes=n_classes
            )
    assert set(fitted) == {"kind", "score"}
    shared, shared_recipes = classical_reports(contract, state, train_split, test_rows, truth, unseen, 0, fitted)
    assert shared_recipes == recipes and len(reads) == 2  # read once more: for tags (multi-label) alone
    for head in ("kind", "score", "tags"):
        assert shared[head].metrics == reports[head].metrics
