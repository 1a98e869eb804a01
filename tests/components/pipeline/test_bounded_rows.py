"""Memory-bounded steps read at most `max_rows` of a split: a seeded sample, stratified on the class
(`pipeline/rows.py`), used by the classical models, the evaluation and the profile."""

import numpy as np
import pytest

from components.data import records
from components.data.contract import Drift, Training
from components.pipeline.assess import HOLDOUT_POSITIONS, holdout_truth
from components.pipeline.rows import bounded_positions, bounded_split, split_targets


def test_every_row_when_they_fit_or_no_bound():
    assert bounded_positions(50, 50, seed=0).tolist() == list(range(50))
    assert bounded_positions(50, None, seed=0).tolist() == list(range(50))


def test_a_bounded_sample_is_seeded_ascending_and_distinct():
    first = bounded_positions(10_000, 1000, seed=3)
    assert len(first) == 1000 and len(set(first.tolist())) == 1000
    assert (np.diff(first) > 0).all(), "the split's order is kept"
    np.testing.assert_array_equal(first, bounded_positions(10_000, 1000, seed=3))
    assert not np.array_equal(first, bounded_positions(10_000, 1000, seed=4))


def test_a_stratified_sample_keeps_each_class_share_and_a_rare_class():
    classes = np.array([0] * 9000 + [1] * 990 + [2] * 10)
    picked = classes[bounded_positions(len(classes), 500, seed=0, strata=classes)]
    counts = np.bincount(picked, minlength=3)
    assert counts.tolist() == [450, 50, 1], "shares 90% / 9.9% / 0.1% of 500, the rare class kept"


def test_multi_column_strata_use_the_first_column():
    strata = np.stack([np.repeat([0, 1], 500), np.arange(1000)], axis=1)
    assert np.bincount(strata[bounded_positions(1000, 100, seed=0, strata=strata), 0]).tolist() == [50, 50]


def test_the_bounds_are_settings_with_defaults():
    assert (Training().classical_max_rows, Training().evaluation_max_rows, Drift().max_rows) == (200_000,) * 3
    assert Training(classical_max_rows=None).classical_max_rows is None
    with pytest.raises(ValueError, match="greater than or equal to 1000"):
        Training(evaluation_max_rows=10)


def test_a_bounded_split_reads_the_sampled_rows_with_their_targets(tiny_demo):
    contract, _, prepared = tiny_demo
    state = records.load_state(prepared.directory)
    ids = records.split_ids(prepared.directory, "train")
    truth = split_targets(prepared.directory, "train", state)
    rows, sampled, positions = bounded_split(contract, state, prepared.directory, "train", 20, seed=0)
    assert 18 <= len(rows) <= 22 < len(ids), "about the bound (each class's share rounded)"
    assert rows[contract.id_column].astype(str).tolist() == [ids[p] for p in positions], "the split's order"
    for name, values in sampled.items():
        np.testing.assert_array_equal(values, truth[name][positions])
    assert set(sampled["kind"]) == set(truth["kind"]), "every class of the first classification target stays"
    whole, _, every = bounded_split(contract, state, prepared.directory, "train", None, seed=0)
    assert len(whole) == len(ids) and every.tolist() == list(range(len(ids)))


def test_the_gate_reads_the_targets_of_the_saved_holdout_sample(tiny_demo, tmp_path):
    _, _, prepared = tiny_demo
    state = records.load_state(prepared.directory)
    whole = split_targets(prepared.directory, "test", state)
    assert holdout_truth(prepared.directory, state, str(tmp_path)).keys() == whole.keys(), "no sample: every row"
    positions = np.array([0, 2, 3])
    np.save(tmp_path / HOLDOUT_POSITIONS, positions)
    for name, values in holdout_truth(prepared.directory, state, str(tmp_path)).items():
        np.testing.assert_array_equal(values, whole[name][positions])
