"""The rare-class rule shared by the library head and the pipeline (`components.imbalance`), on tiny
data: when a target counts as imbalanced, the head's defaults there, and the threshold that serves it."""

import numpy as np
import pandas as pd
import pytest

import components as ak
from components import imbalance
from components.errors import InputError
from components.evaluation import evaluate_task


def test_a_class_under_a_fifth_of_an_equal_share_is_rare():
    assert imbalance.is_imbalanced([975, 25])  # flights' cancelled: 2.5% yes
    assert not imbalance.is_imbalanced([63, 37])  # breast cancer
    assert imbalance.is_imbalanced([500] * 9 + [5])  # one of ten classes at 0.1%
    assert imbalance.is_imbalanced([500] * 9 + [90])  # 1.96%: under the 2% line of ten classes
    assert not imbalance.is_imbalanced([500] * 9 + [110])  # 2.4%
    assert not imbalance.is_imbalanced([10, 0])  # one class with rows: nothing to balance


def test_the_threshold_maximises_macro_f1_between_distinct_probabilities():
    y = np.array([0] * 8 + [1, 1])
    p = np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.20, 0.10, 0.30])
    threshold = imbalance.macro_f1_threshold(y, p)
    assert 0.07 < threshold <= 0.10  # both positives above it, one negative (0.20) too: the best cut
    assert imbalance.macro_f1_threshold([0, 0], [0.1, 0.2]) == 0.5


def test_head_defaults_threshold_a_rare_binary_class_and_weigh_nothing_unless_asked():
    rare = ak.ClassificationHead(name="rare")
    rare.fit_targets(np.array([0] * 95 + [1] * 5))
    assert rare.imbalanced and rare.tunes_thresholds and rare.class_weights is None
    weighed = ak.ClassificationHead(name="weighed", threshold=None, class_weight="balanced")
    weighed.fit_targets(np.array([0] * 95 + [1] * 5))
    assert weighed.class_weights[1] > 10 * weighed.class_weights[0] and not weighed.tunes_thresholds
    multiclass = ak.ClassificationHead(name="multiclass")
    multiclass.fit_targets(np.array([0] * 60 + [1] * 38 + [2] * 2))
    assert multiclass.imbalanced and not multiclass.tunes_thresholds and multiclass.class_weights is None
    weighed_multiclass = ak.ClassificationHead(name="weighed_multiclass", class_weight="balanced")
    weighed_multiclass.fit_targets(np.array([0] * 60 + [1] * 38 + [2] * 2))
    assert weighed_multiclass.class_weights[2] > 10 * weighed_multiclass.class_weights[0]
    even = ak.ClassificationHead(name="even")
    even.fit_targets(np.array([0] * 60 + [1] * 40))
    assert not even.imbalanced and not even.tunes_thresholds and even.class_weights is None
    off = ak.ClassificationHead(name="off", class_weight=None, threshold=None)
    off.fit_targets(np.array([0] * 95 + [1] * 5))
    assert off.imbalanced and not off.tunes_thresholds and off.class_weights is None
    fixed = ak.ClassificationHead(name="fixed", threshold=0.2)
    fixed.fit_targets(np.array([0] * 95 + [1] * 5))
    assert fixed.decode(np.array([[0.25], [0.15]])).ravel().tolist() == [1, 0]
    with pytest.raises(InputError, match="threshold"):
        ak.ClassificationHead(threshold=1.5)


def test_a_rare_binary_class_is_predicted_and_beats_a_constant_on_macro_f1(tmp_path):
    rng = np.random.default_rng(0)
    rows = 800
    table = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    # About 4% positives, mostly where `a` is high: learnable, but a plain loss settles on "no".
    score = 2.5 * table["a"] + rng.normal(scale=0.7, size=rows)
    labels = np.where(score > np.quantile(score, 0.96), "yes", "no")
    model = ak.AutoModel(
        inputs=ak.StructuredDataInput(),
        outputs=ak.ClassificationHead(name="rare"),
        max_trials=1,
        ensemble_size=1,
        overwrite=True,
        seed=0,
        directory=tmp_path,
    )
    model.fit(table, labels, epochs=4, verbose=0)
    head = model.heads[0]
    assert head.imbalanced and head.thresholds and head.thresholds[0] != 0.5
    predicted = model.predict(table).ravel()
    assert {"yes", "no"} == set(predicted)
    truth = (labels == "yes").astype(int)
    macro_f1 = evaluate_task("classification", truth, np.eye(2)[(predicted == "yes").astype(int)]).metrics["macro_f1"]
    constant = evaluate_task("classification", truth, np.eye(2)[np.zeros(rows, int)]).metrics["macro_f1"]
    assert macro_f1 > constant + 0.2
    # The exported model carries the threshold, for whoever decodes its probabilities.
    assert model.export_model().get_layer("rare").thresholds == head.thresholds
