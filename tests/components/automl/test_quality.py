"""The quality pieces: TF-IDF text encoding, piecewise-linear numbers, reductions, schedule, ensembles."""

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

import components as ak
from components.automl import ensemble, training
from components.automl.adapters import fit_node, ngram_stats
from components.automl.blocks.numeric import encode_numeric, encode_numeric_columns, numeric_width
from components.automl.blocks.reduction import spatial_reduction
from components.automl.blocks.tabular import TableEncoder
from components.automl.blocks.text import TfIdf
from components.automl.ensemble import combine, select
from components.automl.export import load_model
from components.errors import InputError
from components.features.numerical import numeric_stats

TEXTS = ["a good film", "a good film indeed", "a bad film", "good acting", "bad acting here", "a film"]


def test_ngram_stats_keep_bigrams_seen_twice_with_smoothed_idf():
    terms, idf = ngram_stats(TEXTS)
    assert "good film" in terms and "a good" in terms  # bigrams seen in two texts
    assert "indeed" not in terms and "bad acting" not in terms  # seen once: dropped (min_df 2)
    df = {t: sum(f" {t} " in f" {s} " for s in TEXTS) for t in terms}
    expected = [np.log((1 + len(TEXTS)) / (1 + df[t])) + 1 for t in terms]
    assert np.allclose(idf, expected, atol=1e-4)
    assert idf[terms.index("film")] < idf[terms.index("acting")]  # the commoner term weighs less


def test_tf_idf_rows_are_sublinear_idf_weighted_and_unit_length():
    layer = TfIdf([0.0, 1.0, 2.0], scale=1.0)
    rows = layer(tf.constant([[5.0, 1.0, 1.0], [0.0, 3.0, 0.0]])).numpy()
    expected = np.array([0.0, np.log(2.0), 2 * np.log(2.0)])
    assert np.allclose(rows[0], expected / np.linalg.norm(expected), atol=1e-6)  # OOV counts add nothing
    assert np.allclose(rows[1], [0.0, 1.0, 0.0])
    assert np.allclose(np.linalg.norm(TfIdf([0.0, 1.0, 2.0], scale=8.0)(tf.constant([[0.0, 2.0, 7.0]])).numpy()), 8.0)


def text_model(block, texts):
    node = ak.TextInput(name="text")
    fit_node(node, np.asarray(texts))
    block.name = "text_block"
    inputs = node.keras_input()
    return keras.Model(inputs, block.build(kt.HyperParameters(), [inputs], [node]))


def vocabulary_sizes(model):
    return [len(layer.get_vocabulary()) for layer in model.layers if isinstance(layer, keras.layers.TextVectorization)]


def test_text_block_arguments_reach_the_model():
    bigrams = text_model(ak.TextBlock(block_type="ngram"), TEXTS)
    words = text_model(ak.TextBlock(block_type="ngram", ngrams=1), TEXTS)
    capped = text_model(ak.TextBlock(block_type="ngram", max_tokens=3), TEXTS)
    assert vocabulary_sizes(bigrams)[0] > vocabulary_sizes(words)[0]
    assert not any(
        " " in t
        for layer in words.layers
        if isinstance(layer, keras.layers.TextVectorization)
        for t in layer.get_vocabulary()
    )
    assert vocabulary_sizes(capped) == [3]  # OOV + the two most frequent terms
    sequence = text_model(ak.TextBlock(block_type="vanilla", sequence_length=11), TEXTS)
    vectorizer = next(layer for layer in sequence.layers if isinstance(layer, keras.layers.TextVectorization))
    assert vectorizer(tf.constant(["a good film"])).shape == (1, 11)
    with pytest.raises(InputError, match="ngrams"):
        ak.TextBlock(ngrams=3)


def test_tf_idf_text_model_survives_export_and_safe_load(tmp_path):
    model = text_model(ak.TextBlock(block_type="ngram"), TEXTS)
    before = model.predict(tf.constant(["a good film", "never seen words"]), verbose=0)
    model.save(tmp_path / "text.keras")
    again = load_model(tmp_path / "text.keras")
    assert np.allclose(again.predict(tf.constant(["a good film", "never seen words"]), verbose=0), before, atol=1e-6)


def test_piecewise_linear_encoding_is_monotone_with_indicators():
    rng = np.random.default_rng(0)
    values = np.concatenate([np.zeros(30), rng.lognormal(10, 2, 170), [np.nan] * 5])
    column = numeric_stats(values)
    assert column["zero"] and column["missing"] and column["log"] and len(column["edges"]) >= 3
    grid = np.linspace(-1, 1e6, 50)
    encoded = encode_numeric(tf.constant(grid, "float32"), column).numpy()
    assert encoded.shape == (50, numeric_width(column))
    bins = encoded[:, 1 : len(column["edges"])]
    assert np.all(bins >= 0) and np.all(bins <= 1) and np.all(np.diff(bins.sum(axis=1)) >= -1e-6)
    special = encode_numeric(tf.constant([0.0, np.nan], "float32"), column).numpy()
    assert special[0, -2] == 1 and special[0, -1] == 0  # zero indicator, known
    assert special[1, -1] == 1 and np.all(special[1, :-1] == 0)  # missing: indicator only


def test_columns_encoded_together_match_each_column_encoded_alone():
    rng = np.random.default_rng(1)
    raw = [
        np.concatenate([np.zeros(30), rng.lognormal(10, 2, 170), [np.nan] * 5]),  # log, zero, missing, bins
        rng.normal(size=205),  # bins only
        rng.integers(0, 3, 205).astype(float),  # few values: fewer edges
        np.full(205, 4.0),  # constant
    ]
    columns = [numeric_stats(values) for values in raw]
    table = np.stack([values[rng.permutation(205)] for values in raw], axis=1).astype("float32")
    together = encode_numeric_columns(tf.constant(table), columns).numpy()
    alone = np.concatenate([encode_numeric(tf.constant(table[:, i]), c).numpy() for i, c in enumerate(columns)], 1)
    assert together.shape == (205, sum(numeric_width(c) for c in columns))
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)  # vectorised log1p: last bits


def test_table_encoder_with_ple_columns_round_trips_through_safe_load(tmp_path):
    node = ak.StructuredDataInput(name="table")
    sample = np.array(
        [["red", repr(float(v))] for v in [0, 0, 1, 5, 10, 50, 100, 0, 7, 3]] + [["blue", ""]], dtype=object
    )
    node.column_types = {"column_0": "categorical", "column_1": "numerical"}
    fit_node(node, sample)
    inputs = node.keras_input()
    model = keras.Model(inputs, TableEncoder(node.stats["columns"], string_input=True)(inputs))
    rows = tf.constant([["red", "4.0"], ["green", ""]])
    encoded = model.predict(rows, verbose=0)
    assert encoded.shape[1] == model.layers[-1].compute_output_shape((None, 2))[1] > 5
    model.save(tmp_path / "table.keras")
    assert np.array_equal(load_model(tmp_path / "table.keras").predict(rows, verbose=0), encoded)


def test_a_table_encoded_without_bins_gives_the_standardised_numbers_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(5, 2, 200), [np.nan]])
    node = ak.StructuredDataInput(name="table")
    node.column_types = {"column_0": "numerical"}
    fit_node(node, values.reshape(-1, 1).astype("float32"))
    (column,) = node.stats["columns"]
    assert len(column["edges"]) > 3 and column["missing"]
    inputs = node.keras_input()
    model = keras.Model(inputs, TableEncoder(node.stats["columns"], string_input=False, piecewise=False)(inputs))
    rows = np.array([[5.0], [9.0], [np.nan]], "float32")
    encoded = model.predict(rows, verbose=0)
    expected = [[(5 - column["mean"]) / column["std"], 0], [(9 - column["mean"]) / column["std"], 0], [0, 1]]
    np.testing.assert_allclose(encoded, expected, rtol=1e-5, atol=1e-6)  # the value and the missing flag alone
    model.save(tmp_path / "table.keras")
    np.testing.assert_array_equal(load_model(tmp_path / "table.keras").predict(rows, verbose=0), encoded)
    with pytest.raises(InputError, match="numeric_encoding='bins'"):
        ak.CategoricalToNumerical(numeric_encoding="bins")


@pytest.mark.parametrize("reduction", [None, "flatten"])
def test_image_block_reduces_to_a_vector(reduction):
    node = ak.ImageInput(name="image")
    fit_node(node, np.random.rand(4, 16, 16, 3))
    block = ak.ImageBlock(block_type="vanilla", reduction=reduction)
    block.name = "image_block"
    out = block.build(kt.HyperParameters(), [node.keras_input()], [node])
    assert len(out.shape) == 2
    assert (out.shape[-1] > 32) == (reduction == "flatten")  # pooled to the channel count by default
    with pytest.raises(InputError, match="reduction"):
        ak.ImageBlock(reduction="mean")
    x = keras.Input((4, 4, 8))
    assert [spatial_reduction(x, k).shape[-1] for k in ("flatten", "global_avg", "global_max")] == [128, 8, 8]


def test_schedule_warms_up_then_decays():
    optimizer = training.optimizer(1e-2, total_steps=100)
    schedule = optimizer.learning_rate if callable(optimizer.learning_rate) else optimizer._learning_rate
    rates = [float(schedule(step)) for step in (0, 10, 55, 99)]
    assert rates[0] < rates[1] and abs(rates[1] - 1e-2) < 1e-4 and rates[1] > rates[2] > rates[3]
    assert optimizer.clipnorm == training.CLIPNORM


def test_ensemble_selection_prefers_the_better_member_and_combines_per_head():
    head = ak.RegressionHead(name="score")
    head.fit_targets(np.array([0.0, 1.0, 2.0, 3.0]))
    truth = np.array([[0.0], [1.0], [2.0], [3.0]])
    good, bad = truth + 0.1, truth + 2.0
    assert select(head, truth, [bad, good], size=5)[0] == 1
    assert select(head, truth, [truth + 1.0, truth - 1.0], size=4)[:2] in ([0, 1], [1, 0])  # averaging cancels errors
    node = ak.StructuredDataInput(name="x")
    node.shape, node.dtype = (1,), "float32"
    members = []
    for offset in (0.0, 2.0):
        inputs = keras.Input((1,), name="x")
        members.append(keras.Model(inputs, keras.layers.Lambda(lambda t, o=offset: t + o)(inputs)))
    model = combine(members, [head], {"score": [0, 1, 1]}, [node])
    assert np.allclose(model.predict(np.array([[1.0]]), verbose=0), [[1.0 + 4.0 / 3]])
    assert model.get_layer("score") is not None


def test_a_multi_label_head_is_served_by_micro_f1_at_tuned_thresholds_where_log_loss_would_pick_the_other():
    """A network that ranks every label perfectly but squeezes its probabilities near 0.5 (poor log loss)
    against a calibrated, noisier model: by log loss the blend rule served the noisier one; by what the
    head decides (micro-F1 at thresholds tuned per candidate) it serves the network."""
    from functools import partial

    from components.evaluation.blend import choose

    rng = np.random.default_rng(0)
    truth = (rng.random((400, 4)) < 0.3).astype("float32")
    head = ak.ClassificationHead(name="tags", multi_label=True)
    head.fit_targets(truth)
    squeezed = 0.45 + 0.1 * truth + rng.uniform(-0.01, 0.01, truth.shape)  # separable at ~0.5
    logits = np.where(truth > 0, 1.5, -1.5) + rng.normal(0, 1.5, truth.shape)
    calibrated = 1 / (1 + np.exp(-logits))
    known = np.ones(len(truth), bool)
    assert ensemble.head_loss(head, truth, squeezed) > ensemble.head_loss(head, truth, calibrated)
    assert ensemble.choice_loss(head, truth, squeezed) == pytest.approx(0.0)
    assert ensemble.choice_loss(head, truth, calibrated) > 0.05
    assert choose(partial(ensemble.head_loss, head), truth, known, squeezed, calibrated, "auto").choice == "classical"
    chosen = choose(partial(ensemble.choice_loss, head), truth, known, squeezed, calibrated, "auto", "", "micro-F1")
    assert chosen.choice == "network" and "validation micro-F1 network 0" in chosen.explain()
    # other heads are chosen by their validation loss as before
    single = ak.ClassificationHead(name="kind")
    single.fit_targets(np.array([0, 1, 2, 1]))
    probabilities = np.full((4, 3), 0.2) + 0.4 * np.eye(3)[[0, 1, 2, 0]]
    assert ensemble.choice_loss(single, np.array([0, 1, 2, 1]), probabilities) == ensemble.head_loss(
        single, np.array([0, 1, 2, 1]), probabilities
    )


def test_validation_outputs_are_one_eager_call_on_few_rows_and_a_predict_on_more_with_the_same_numbers(monkeypatch):
    inputs = {"x": keras.Input((3,), name="x"), "words": keras.Input((), dtype="string", name="words")}
    hidden = keras.layers.Dense(8, activation="relu")(inputs["x"])
    model = keras.Model(inputs, [keras.layers.Dense(1)(hidden), keras.layers.Dense(2, activation="softmax")(hidden)])
    rng = np.random.default_rng(0)
    x = {"x": rng.random((40, 3)).astype("float32"), "words": np.array(["a b"] * 40)}
    val_ds = tf.data.Dataset.from_tensor_slices((x, {"y": np.zeros(40)})).batch(16)
    calls = []
    predict = keras.Model.predict
    monkeypatch.setattr(keras.Model, "predict", lambda self, *a, **k: calls.append(1) or predict(self, *a, **k))
    eager = ensemble.outputs_on(model, val_ds)
    assert calls == [], "40 rows: no traced predict"
    monkeypatch.setattr(ensemble, "EAGER_ROWS", 20)
    predicted = ensemble.outputs_on(model, val_ds)
    assert calls == [1], "over EAGER_ROWS: Model.predict"
    assert [o.shape for o in eager] == [(40, 1), (40, 2)]
    for ours, theirs in zip(eager, predicted):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
