"""Heads infer their encoding, loss and units from the targets, and decode predictions back."""

import numpy as np
import pytest

import components as ak
from components.errors import DataError, InputError


def fitted(head, y):
    head.name = head.name or "head"
    head.fit_targets(np.asarray(y))
    return head


def test_integer_labels_are_multiclass_indices():
    head = fitted(ak.ClassificationHead(), np.random.default_rng(0).integers(0, 5, size=(40, 1)))
    assert head.classes == [0, 1, 2, 3, 4] and not head.binary
    assert head.encode_numpy(np.array([[3], [0]])).tolist() == [3, 0]
    probabilities = np.eye(5)[[4, 1]]
    assert head.decode(probabilities).ravel().tolist() == [4, 1]


def test_string_labels_decode_to_strings_and_binary_uses_one_sigmoid():
    head = fitted(ak.ClassificationHead(), ["cat", "dog", "dog", "cat"])
    assert head.binary and head.classes == ["cat", "dog"]
    assert head.decode(np.array([[0.9], [0.1]])).ravel().tolist() == ["dog", "cat"]
    import tensorflow as tf

    assert head.encode_tensor(tf.constant("dog")).numpy().tolist() == [1.0]


def test_one_hot_rows_become_indices():
    head = fitted(ak.ClassificationHead(), np.eye(3)[[0, 2, 1, 2]])
    assert head.label_kind == "one_hot" and head.encode_numpy(np.eye(3)[[2]]).tolist() == [2]


def test_num_classes_mismatch_is_a_data_error():
    with pytest.raises(DataError, match="num_classes=3"):
        fitted(ak.ClassificationHead(num_classes=3), ["a", "b"])


def test_num_classes_inference_ignores_the_minus_one_code_of_an_unseen_class():
    head = ak.ClassificationHead(name="kind", num_classes=3)
    head.fit_targets(np.array([0, 1, 2, 1]), np.array([-1, 2]))  # validation holds a class train lacks
    assert head.label_kind == "index" and head.classes == [0, 1, 2]
    with pytest.raises(DataError, match="mask_missing=True"):
        head.encode_numpy(np.array([-1, 2]))
    masked = ak.ClassificationHead(name="kind", num_classes=3, mask_missing=True)
    masked.fit_targets(np.array([0, 1, 2, 1]), np.array([-1, 2]))
    assert masked.encode_numpy(np.array([-1, 2])).tolist() == [-1, 2] and masked.present(
        np.array([-1, 2])
    ).tolist() == [False, True]


def test_balanced_class_weights_favour_the_rare_class():
    head = fitted(ak.ClassificationHead(class_weight="balanced"), [0] * 9 + [1])
    assert head.class_weights[1] > head.class_weights[0]


def test_multi_label_thresholds_maximise_f1():
    head = fitted(ak.ClassificationHead(multi_label=True), np.array([[1, 0], [0, 1], [1, 1], [0, 0]]))
    truth = np.array([[1, 0], [1, 0], [0, 0], [0, 0]])
    probabilities = np.array([[0.3, 0.1], [0.35, 0.2], [0.1, 0.3], [0.05, 0.1]])
    thresholds = head.tune_thresholds(truth, probabilities)
    assert 0.1 < thresholds[0] <= 0.3
    assert head.decode(probabilities)[:, 0].tolist() == [1, 1, 0, 0]


def test_multi_label_rejects_non_binary_rows():
    with pytest.raises(DataError, match="multi_label"):
        fitted(ak.ClassificationHead(multi_label=True), np.array([[2, 0], [0, 1]]))


def test_regression_standardises_and_rejects_strings_and_nan():
    head = fitted(ak.RegressionHead(), np.array([[100.0], [300.0]]))
    assert head.mean == [200.0] and head.std == [100.0]
    with pytest.raises(DataError, match="non-numeric"):
        fitted(ak.RegressionHead(), np.array(["a", "b"]))
    with pytest.raises(DataError, match="NaN"):
        fitted(ak.RegressionHead(), np.array([1.0, np.nan]))


def test_regression_loss_is_in_standard_units():
    import tensorflow as tf

    head = fitted(ak.RegressionHead(), np.array([[0.0], [1000.0]]))
    loss = head.loss_fn()(tf.constant([[500.0]]), tf.constant([[0.0]]))
    assert float(loss) == pytest.approx(1.0)


def test_unknown_loss_or_metric_is_an_input_error():
    with pytest.raises(InputError, match="loss"):
        ak.RegressionHead(loss="hinge")
    head = fitted(ak.RegressionHead(metrics=["f1"]), np.array([1.0, 2.0]))
    with pytest.raises(InputError, match="f1"):
        head.metric_objects()


def test_masked_heads_train_on_rows_with_missing_targets_and_unmasked_heads_refuse_them():
    import components as ak
    from components.errors import DataError

    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    price = (x[:, 0] * 3 + 10).astype("float64")
    kind = (x[:, 1] > 0).astype("int64") + (x[:, 2] > 0)
    price[::4] = np.nan  # a quarter of the rows have no price...
    kind[1::5] = -1  # ...and a fifth no kind
    model = ak.AutoModel(
        inputs=ak.StructuredDataInput(),
        outputs=[
            ak.RegressionHead(name="price", mask_missing=True),
            ak.ClassificationHead(name="kind", num_classes=3, mask_missing=True),
        ],
        max_trials=1,
        overwrite=True,
        seed=0,
        directory=None,
    )
    model.fit(x, [price, kind], epochs=2, validation_split=0.25, verbose=0)
    scores = model.evaluate(x, [price, kind], return_dict=True)
    assert all(np.isfinite(v) for v in scores.values()), scores
    price_hat, kind_hat = model.predict(x)
    assert np.isfinite(price_hat).all() and set(np.unique(kind_hat)) <= {0, 1, 2}
    head = model.heads[0]
    from components.automl.adapters import split_arrays

    (rows, _), _ = split_arrays({"row": np.arange(96)}, {"price": price, "kind": kind}, 0.25, model.heads)
    assert len(rows["row"]) == 72
    assert abs(head.mean[0] - np.nanmean(price[rows["row"]])) < 1e-5, "the scale is fitted on known training rows only"

    strict = ak.AutoModel(
        inputs=ak.StructuredDataInput(), outputs=ak.RegressionHead(name="price"), max_trials=1, overwrite=True
    )
    with pytest.raises(DataError, match="NaN"):
        strict.fit(x, price, epochs=1, verbose=0)


def test_rare_labels_keep_the_global_threshold_and_common_labels_get_their_own():
    rng = np.random.default_rng(0)
    truth = np.zeros((200, 3), int)
    truth[:80, 0] = 1  # common label: 80 positives, scores well separated above 0.7
    truth[:3, 1] = 1  # rare labels: 3 positives each
    truth[100:103, 2] = 1
    probabilities = rng.uniform(0.0, 0.3, truth.shape)
    probabilities[:80, 0] = rng.uniform(0.75, 1.0, 80)
    probabilities[80:, 0] = rng.uniform(0.4, 0.7, 120)
    probabilities[:3, 1] = 0.95
    probabilities[100:103, 2] = 0.35
    head = fitted(ak.ClassificationHead(multi_label=True), np.array([[1, 0, 0], [0, 1, 1]]))
    thresholds = head.tune_thresholds(truth, probabilities)
    grid = np.linspace(0.05, 0.95, 19)
    micro = [2 * ((probabilities >= t) & (truth > 0)).sum() / ((probabilities >= t).sum() + truth.sum()) for t in grid]
    assert thresholds[1] == thresholds[2] == pytest.approx(grid[int(np.argmax(micro))])
    assert 0.7 <= thresholds[0] <= 0.75, "the common label has enough positives for its own threshold"
    assert head.decode(probabilities)[:, 0].sum() == 80
