"""Every fitter merges: the fits of disjoint parts of the rows, merged, finalize to exactly the fit of all
the rows (what the parallel preprocessing relies on for shards equal to the one-process ones)."""

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.data.contract import Target, feature_spec
from components.data.modalities import codec_for
from components.data.tasks import codec_for_target
from components.features.numerical import MeanVariance
from components.features.registry import MODALITIES, TASKS
from components.features.timeseries import ChannelMoments, SeriesProblem

# A tiny column per modality and task: missing, unreadable and repeated values included.
COLUMNS = {
    "numerical": ["1.5", "", None, "x", "1e3", "-2", "1.5", "0.1", "7", "1e-300", "3", "12"],
    "categorical": ["a", "b", None, "a", " c ", "3.0", "3", "b", "a", "", "d", "a"],
    "text": ["The cat", "", None, "a dog, a cat", "cat cat", "x_y z", "\x00bad", "dog", "A", "b", "c", "cat"],
    "datetime": ["2020-01-02", "", None, "not a date", "1999-12-31", "2021-06-30", "2020-02-29"] + ["2001-01-01"] * 5,
    "timeseries": ["[1, 2.5, null]", "", None, "oops", "[3]", "[1, 2, 3, 4, 5, 6, 7, 8, 9]", "[0.5, -1]"] + ["[2]"] * 5,
    "audio": ["a.wav", None, "b.wav", "c.flac", "", "d.wav", "e.wav", "f.wav", "g.wav", "h.wav", "i.wav", "j.wav"],
    "image": ["a.png", None, "b.png", "c.png", "", "d.png", "e.png", "f.png", "g.png", "h.png", "i.png", "j.png"],
    "classification": ["yes", "no", None, "yes", "maybe", "no", "yes", "yes", "", "no", "yes", "no"],
    "regression": ["1", "2.5", None, "bad", "-3", "4", "5", "6", "7", "8.25", "9", "10"],
    "multilabel": ["a|b", "", None, "b", "c|a", "a", "b|c", "a", "d", "a|d", "b", "c"],
}


def specs():
    for name in MODALITIES:
        yield name, feature_spec(name=f"col_{name}", modality=name), codec_for
    for name in TASKS:
        extra = {"separator": "|"} if name == "multilabel" else {}
        yield name, Target(name=f"col_{name}", task=name, **extra), codec_for_target


def fit(codec, spec, values):
    fitter = codec.fitter(spec)
    if len(values):
        fitter.update(pd.Series(values, dtype=object))
    return fitter


def test_every_registered_modality_and_task_has_a_sample_column():
    assert {name for name, _, _ in specs()} == set(COLUMNS)


@pytest.mark.parametrize("name,spec,lookup", list(specs()), ids=[name for name, _, _ in specs()])
@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(0, 12), max_size=4))
def test_merge_of_parts_is_the_fit_of_the_whole(name, spec, lookup, cuts):
    codec, values = lookup(spec), COLUMNS[name]
    whole = fit(codec, spec, values).finalize()
    bounds = [0, *sorted(cuts), len(values)]
    parts = [fit(codec, spec, values[a:b]) for a, b in zip(bounds, bounds[1:])]
    merged = type(parts[0]).merge(parts).finalize()
    assert merged == whole


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=0, max_size=40),
    cut=st.integers(0, 40),
)
def test_moments_are_exact_whatever_the_cut(values, cut):
    numbers = np.array(values, dtype=np.float64)
    whole, left, right = MeanVariance(), MeanVariance(), MeanVariance()
    whole.add(numbers)
    left.add(numbers[:cut])
    right.add(numbers[cut:])
    assert MeanVariance.merge([left, right]).finalize() == whole.finalize()
    finite = numbers[np.isfinite(numbers)]
    if len(finite):  # the correctly rounded mean, not merely a close one
        assert whole.finalize()["mean"] == float(sum(Fraction(v) for v in finite) / len(finite))


def test_moments_of_a_sample_match_numpy():
    numbers = np.random.default_rng(0).normal(50.0, 3.0, 10_000)
    fitted = MeanVariance()
    fitted.add(numbers)
    assert fitted.finalize()["mean"] == pytest.approx(numbers.mean(), rel=1e-13)
    assert fitted.finalize()["std"] == pytest.approx(numbers.std(), rel=1e-12)


def test_parts_with_other_channel_counts_do_not_merge():
    left, right = ChannelMoments(), ChannelMoments()
    left.add(np.zeros((3, 2)))
    right.add(np.zeros((3, 1)))
    with pytest.raises(SeriesProblem, match="channel"):
        ChannelMoments.merge([left, right])
