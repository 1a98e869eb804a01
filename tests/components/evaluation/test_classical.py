"""Classical baselines: on an easy synthetic signal they beat the trivial baseline; bad input is refused."""

import numpy as np
import pytest

from components.errors import InputError
from components.evaluation import baseline_report, evaluate_task
from components.evaluation.classical import (
    ClassicalInputs,
    best_threshold,
    fit_classical,
    train_classical,
)

WORDS = ["space", "ship", "love", "kiss", "gun", "chase", "ghost", "night"]


def synthetic(n: int, seed: int):
    """Texts whose words name the labels, numbers that carry the regression and class signal."""
    rng = np.random.default_rng(seed)
    labels = rng.random((n, 4)) < 0.35
    texts = [" ".join(WORDS[2 * j + rng.integers(2)] for j in np.flatnonzero(row)) + " the film" for row in labels]
    numbers = rng.normal(size=(n, 3))
    numbers[rng.random(n) < 0.1, 2] = np.nan
    categories = rng.choice(["a", "b", "c"], size=(n, 1))
    value = 2.0 * numbers[:, 0] + (categories[:, 0] == "b") + rng.normal(scale=0.1, size=n)
    kind = (numbers[:, 1] > 0).astype(int) + (numbers[:, 1] > 1).astype(int)
    inputs = ClassicalInputs(texts=[texts], numbers=numbers, categories=categories)
    return inputs, labels.astype(int), value, kind


@pytest.fixture(scope="module")
def split():
    return synthetic(240, 0), synthetic(80, 1)


def test_multilabel_beats_trivial_baseline_with_a_threshold_chosen_on_train(split):
    (train, labels, _, _), (test, labels_test, _, _) = split
    fit = fit_classical("multilabel", train, labels, test, seed=0)
    assert fit.y_pred.shape == labels_test.shape and 0.05 <= fit.threshold <= 0.95
    report = evaluate_task("multilabel", labels_test, fit.y_pred, thresholds=fit.threshold)
    trivial = baseline_report("multilabel", labels, labels_test)
    assert report.metrics["micro_f1"] > 0.9 > trivial.metrics["micro_f1"]
    assert "TF-IDF" in fit.description and "one-hot" in fit.description
    # the best threshold on test is an upper bound of the honest one, never below it
    _, oracle = best_threshold(labels_test, fit.y_pred)
    assert oracle >= report.metrics["micro_f1"]


def test_regression_uses_numbers_and_categories(split):
    (train, _, value, _), (test, _, value_test, _) = split
    fit = fit_classical("regression", train, value, test, seed=0)
    mae = evaluate_task("regression", value_test, fit.y_pred).metrics["mae"]
    trivial = baseline_report("regression", value, value_test).metrics["mae"]
    assert mae < 0.5 * trivial
    assert fit.description.startswith("HistGradientBoostingRegressor")


def test_classification_probabilities_cover_every_class(split):
    (train, _, _, kind), (test, _, _, kind_test) = split
    fit = fit_classical("classification", train, kind, test, seed=0)
    assert fit.y_pred.shape == (len(kind_test), 3)
    np.testing.assert_allclose(fit.y_pred.sum(axis=1), 1.0)
    accuracy = evaluate_task("classification", kind_test, fit.y_pred).metrics["accuracy"]
    assert accuracy > baseline_report("classification", kind, kind_test).metrics["accuracy"] + 0.2


def test_text_only_classification_falls_back_to_logistic_regression(split):
    (train, labels, _, _), (test, labels_test, _, _) = split
    fit = fit_classical(
        "classification", ClassicalInputs(texts=train.texts), labels[:, 0], ClassicalInputs(texts=test.texts), seed=0
    )
    assert fit.description.startswith("logistic regression")
    assert evaluate_task("classification", labels_test[:, 0], fit.y_pred).metrics["accuracy"] > 0.9


def test_same_seed_same_predictions(split):
    (train, labels, _, _), (test, _, _, _) = split
    a = fit_classical("multilabel", train, labels, test, seed=3)
    b = fit_classical("multilabel", train, labels, test, seed=3)
    np.testing.assert_array_equal(a.y_pred, b.y_pred)
    assert a.threshold == b.threshold


def test_bad_input_is_refused_with_a_message(split):
    (train, labels, value, kind), (test, _, _, _) = split
    with pytest.raises(InputError, match="unknown task"):
        fit_classical("ranking", train, value, test)
    with pytest.raises(InputError, match="y_train has 10 rows"):
        fit_classical("regression", train, value[:10], test)
    with pytest.raises(InputError, match="no features"):
        fit_classical("regression", ClassicalInputs(), value, test)
    with pytest.raises(InputError, match="different row counts"):
        fit_classical("regression", ClassicalInputs(texts=train.texts, numbers=train.numbers[:5]), value, test)
    with pytest.raises(InputError, match="numbers is given for train only"):
        fit_classical("regression", train, value, ClassicalInputs(texts=test.texts, categories=test.categories))
    with pytest.raises(InputError, match="multi-hot"):
        fit_classical("multilabel", train, labels * 2, test)
    with pytest.raises(InputError, match="class indices"):
        fit_classical("classification", train, kind.astype(float), test)
    with pytest.raises(InputError, match="numeric"):
        odd = ClassicalInputs(
            texts=train.texts, numbers=np.full((240, 3), "x", dtype=object), categories=train.categories
        )
        fit_classical("multilabel", odd, labels, test)


def test_a_label_absent_from_train_is_predicted_absent_without_warnings(split, recwarn):
    (train, labels, _, _), (test, _, _, _) = split
    labels = labels.copy()
    labels[:, 3] = 0
    fit = fit_classical("multilabel", train, labels, test, seed=0)
    assert (fit.y_pred[:, 3] < fit.threshold).all()
    assert not [w for w in recwarn if "present in all training examples" in str(w.message)]


def test_a_saved_classical_model_predicts_the_same_and_a_foreign_file_is_refused(tmp_path):
    from components.evaluation.classical import load_classical, save_classical, train_classical

    rng = np.random.default_rng(0)
    inputs = ClassicalInputs(
        numbers=rng.normal(size=(80, 2)), categories=np.array([["a"], ["b"], [None], ["c"]] * 20, dtype=object)
    )
    y = (inputs.numbers[:, 0] > 0).astype(np.int64)
    model = train_classical("classification", inputs, y, n_classes=3)
    save_classical({"head": model}, tmp_path / "classical.skops")
    loaded = load_classical(tmp_path / "classical.skops")["head"]
    assert loaded.predict(inputs).shape == (80, 3), "a class the train rows lack keeps its column"
    np.testing.assert_array_equal(loaded.predict(inputs), model.predict(inputs))

    import skops.io

    skops.io.dump({"head": _Foreign()}, tmp_path / "foreign.skops")
    with pytest.raises(InputError, match="types a classical model never has"):
        load_classical(tmp_path / "foreign.skops")


class _Foreign:
    pass


def test_regression_trees_fit_the_median_unless_one_value_holds_half_the_targets():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 400)
    skewed = rng.exponential(10.0, 400) * (1 + (x > 0))  # long right tail: mean and median differ
    step = (x > 0.3).astype(float)  # 0 holds 65% of the rows
    inputs = ClassicalInputs(numbers=x.reshape(-1, 1))
    median_fit = train_classical("regression", inputs, skewed)
    assert "absolute error" in median_fit.description
    assert np.abs(median_fit.predict(inputs) - skewed).mean() < np.abs(skewed - skewed.mean()).mean()
    step_fit = train_classical("regression", inputs, step)
    assert "squared error" in step_fit.description
    assert np.abs(step_fit.predict(inputs).reshape(-1) - step).mean() < 0.05, "a step the trees can fit"


def test_large_tables_grow_the_trees_while_the_held_out_loss_improves_and_a_refit_keeps_their_size():
    rng = np.random.default_rng(0)
    cells = rng.normal(size=(16, 16))  # each pair of the two codes its own value: an interaction, nothing additive
    x = rng.integers(0, 16, size=(12_000, 2))
    y = cells[x[:, 0], x[:, 1]] + rng.normal(scale=0.1, size=len(x))
    inputs = ClassicalInputs(numbers=x.astype(float))
    grown = train_classical("regression", inputs, y)
    assert grown.tree_leaves >= 255 and f"{grown.tree_leaves} leaves" in grown.description
    kept = train_classical("regression", inputs, y, leaves=31)
    assert kept.tree_leaves == 31
    assert np.abs(grown.predict(inputs) - y).mean() < np.abs(kept.predict(inputs) - y).mean()
    small = ClassicalInputs(numbers=x[:2000].astype(float))
    assert train_classical("regression", small, y[:2000]).tree_leaves == 31, "no hold-out to choose on"


def test_large_tables_average_a_bag_of_trees_seeded_apart_that_saves_and_loads(tmp_path):
    from components.evaluation.classical import TreeBag, load_classical, save_classical

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12_000, 4))
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(scale=0.5, size=len(x)) > 0).astype(np.int64)
    inputs = ClassicalInputs(numbers=x, categories=rng.choice(["a", "b", "c"], size=(len(x), 1)).astype(object))
    model = train_classical("classification", inputs, y, n_classes=2)
    bag = model.estimator
    assert isinstance(bag, TreeBag) and len(bag.members) == 5
    assert [m.random_state for m in bag.members] == [0, 1, 2, 3, 4]
    assert {m.max_leaf_nodes for m in bag.members} == {model.tree_leaves}
    assert (
        model.description.startswith("5 x HistGradientBoostingClassifier (")
        and "70% of the columns" in model.description
    )
    features = model.features.transform(inputs)
    each = [m.predict_proba(features) for m in bag.members]
    assert np.abs(each[0] - each[1]).max() > 1e-3, "the members differ"
    np.testing.assert_allclose(model.predict(inputs), np.mean(each, axis=0))
    save_classical({"head": model}, tmp_path / "bag.skops")
    np.testing.assert_array_equal(load_classical(tmp_path / "bag.skops")["head"].predict(inputs), model.predict(inputs))
    small = train_classical("classification", inputs.take(np.arange(2000)), y[:2000])
    assert not isinstance(small.estimator, TreeBag), "small tables: one model, no hold-out"
