"""Evaluation: metrics on tiny hand-computed examples, baselines, scores, plots, bad input."""

import json
import math

import numpy as np
import pytest
from PIL import Image

from components.errors import InputError
from components.evaluation import (
    TaskReport,
    baseline_report,
    combined_score,
    evaluate_task,
    markdown_table,
    normalized_score,
    plot_confusion_matrix,
    plot_learning_curves,
    plot_per_label_f1,
    plot_predicted_vs_actual,
    plot_trial_leaderboard,
    primary_score,
)

# rows: true 0, 1, 1, 2 -> predicted 0, 1, 0, 2
PROBA = np.array(
    [
        [0.70, 0.20, 0.10],
        [0.10, 0.80, 0.10],
        [0.50, 0.15, 0.35],
        [0.20, 0.20, 0.60],
    ]
)
Y = np.array([0, 1, 1, 2])


# --------------------------------------------------------------------------- classification


def test_classification_metrics_by_hand():
    report = evaluate_task("classification", Y, PROBA, classes=["a", "b", "c"])
    m = report.metrics
    assert m["accuracy"] == pytest.approx(0.75)
    # F1: a = 2/3 (P 1/2, R 1), b = 2/3 (P 1, R 1/2), c = 1
    assert m["macro_f1"] == pytest.approx(7 / 9)
    assert m["log_loss"] == pytest.approx(-(math.log(0.7) + math.log(0.8) + math.log(0.15) + math.log(0.6)) / 4)
    # one-vs-rest AUC: a = 1, b = 2/4 (0.15 ranks below both negatives' 0.2), c = 1
    assert m["roc_auc"] == pytest.approx((1 + 0.5 + 1) / 3)
    np.testing.assert_array_equal(report.confusion_matrix, [[1, 0, 0], [1, 1, 0], [0, 0, 1]])
    assert report.names == ("a", "b", "c")
    assert report.n_samples == 4
    assert report.notes == ()


def test_classification_accepts_class_names_as_targets():
    report = evaluate_task("classification", ["a", "b", "b", "c"], PROBA, classes=["a", "b", "c"])
    assert report.metrics["accuracy"] == pytest.approx(0.75)


def test_roc_auc_skips_a_class_absent_from_y_true_and_says_so():
    proba = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.3, 0.6, 0.1]])
    report = evaluate_task("classification", [0, 0, 1], proba, classes=["x", "y", "z"])
    assert math.isfinite(report.metrics["roc_auc"])
    assert report.metrics["roc_auc"] == pytest.approx(1.0)
    assert any("'z'" in note and "absent" in note for note in report.notes)


def test_roc_auc_left_out_when_y_true_has_one_class():
    report = evaluate_task("classification", [1, 1], [[0.2, 0.8], [0.6, 0.4]])
    assert "roc_auc" not in report.metrics
    assert any("single class" in note for note in report.notes)
    assert all(math.isfinite(v) for v in report.metrics.values())


@pytest.mark.parametrize("shape", [(4,), (4, 1)])
def test_binary_probabilities_as_one_column(shape):
    p1 = np.array([0.2, 0.9, 0.4, 0.6])
    one_column = evaluate_task("classification", [0, 1, 1, 0], p1.reshape(shape))
    two_columns = evaluate_task("classification", [0, 1, 1, 0], np.stack([1 - p1, p1], axis=1))
    assert one_column.metrics == pytest.approx(two_columns.metrics)
    assert one_column.metrics["accuracy"] == pytest.approx(0.5)
    assert one_column.metrics["roc_auc"] == pytest.approx(0.75)  # 3 of 4 (pos, neg) pairs ordered
    assert one_column.confusion_matrix.shape == (2, 2)


# --------------------------------------------------------------------------- multilabel

ML_TRUE = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
ML_PROBA = np.array([[0.9, 0.2, 0.4], [0.1, 0.7, 0.6], [0.8, 0.3, 0.1]])


def test_multilabel_metrics_by_hand():
    report = evaluate_task("multilabel", ML_TRUE, ML_PROBA, labels=["action", "sci fi", "R&B"])
    m = report.metrics
    # predicted: [1,0,0], [0,1,1], [1,0,0]; per label F1: 1, 2/3, 0
    np.testing.assert_allclose(report.per_label_f1, [1, 2 / 3, 0])
    assert m["f1_action"] == pytest.approx(1.0)
    assert m["f1_sci fi"] == pytest.approx(2 / 3)
    assert m["f1_R_B"] == pytest.approx(0.0)  # "&" is not allowed in an MLflow metric name
    assert m["micro_f1"] == pytest.approx(2 / 3)  # tp 3, fp 1, fn 2
    assert m["macro_f1"] == pytest.approx(5 / 9)
    assert m["subset_accuracy"] == pytest.approx(0.0)
    assert m["hamming_loss"] == pytest.approx(3 / 9)


def test_multilabel_per_label_thresholds():
    by_list = evaluate_task("multilabel", ML_TRUE, ML_PROBA, thresholds=[0.5, 0.25, 0.5])
    assert by_list.metrics["f1_1"] == pytest.approx(1.0)  # 0.3 now counts for label 1
    assert by_list.metrics["subset_accuracy"] == pytest.approx(1 / 3)
    by_name = evaluate_task("multilabel", ML_TRUE, ML_PROBA, labels=["a", "b", "c"], thresholds={"b": 0.25})
    assert by_name.metrics["micro_f1"] == pytest.approx(by_list.metrics["micro_f1"])


# --------------------------------------------------------------------------- regression


def test_regression_metrics_by_hand():
    report = evaluate_task("regression", [1, 2, 3, 4], [1.5, 2, 3, 4])
    assert report.metrics["mae"] == pytest.approx(0.125)
    assert report.metrics["rmse"] == pytest.approx(0.25)
    assert report.metrics["r2"] == pytest.approx(1 - 0.25 / 5)


def test_regression_multi_output_has_per_output_mae():
    truth = np.array([[0.0, 10.0], [1.0, 20.0]])
    pred = np.array([[0.0, 12.0], [1.0, 20.0]])
    report = evaluate_task("regression", truth, pred, labels=["x", "y"])
    assert report.metrics["mae_x"] == pytest.approx(0.0)
    assert report.metrics["mae_y"] == pytest.approx(1.0)
    assert report.metrics["mae"] == pytest.approx(0.5)


def test_regression_accepts_n_by_1_against_n():
    assert evaluate_task("regression", [1, 2], [[1], [3]]).metrics["mae"] == pytest.approx(0.5)


# --------------------------------------------------------------------------- baselines


def test_classification_baseline_is_majority_class_of_train():
    report = baseline_report("classification", [0, 1, 1, 1, 2], [1, 0, 2], classes=["a", "b", "c"])
    assert report.metrics["accuracy"] == pytest.approx(1 / 3)
    # Laplace-smoothed train frequencies: (1+1, 3+1, 1+1) / 8
    assert report.metrics["log_loss"] == pytest.approx(-(math.log(0.5) + 2 * math.log(0.25)) / 3)
    assert report.metrics["roc_auc"] == pytest.approx(0.5)
    assert "'b'" in report.notes[0]


def test_multilabel_baseline_prefers_top_k_when_no_label_is_common():
    train = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 1, 0, 0]]  # 1.25 labels/row -> k = 1
    report = baseline_report("multilabel", train, [[1, 0, 0, 0], [0, 1, 0, 0]])
    assert "top-1" in report.notes[0]
    assert report.metrics["micro_f1"] == pytest.approx(0.5)  # predicts label 0 on both rows


def test_multilabel_baseline_prefers_prevalence_rule_when_better_on_train():
    train = [[1, 1], [1, 1], [1, 0], [0, 1], [0, 0]]  # both labels at 0.6, 1.2 labels/row -> k = 1
    report = baseline_report("multilabel", train, [[1, 1], [0, 1]])
    assert "prevalence" in report.notes[0]
    assert report.metrics["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1))  # tp 3, fp 1


def test_regression_baseline_is_train_mean():
    report = baseline_report("regression", [1, 2, 3], [2, 4])
    assert report.metrics["mae"] == pytest.approx(1.0)
    assert report.metrics["rmse"] == pytest.approx(math.sqrt(2))
    assert report.metrics["r2"] == pytest.approx(-1.0)


# --------------------------------------------------------------------------- scores


def _three_heads(quality: float) -> dict[str, TaskReport]:
    """Reports of a model that blends truth (quality 1) with noise (quality 0)."""
    rng = np.random.default_rng(0)
    y_cls = rng.integers(0, 3, 60)
    noise = rng.dirichlet(np.ones(3), 60)
    proba = quality * np.eye(3)[y_cls] + (1 - quality) * noise
    y_ml = (rng.random((60, 4)) < 0.4).astype(int)
    ml = quality * y_ml + (1 - quality) * rng.random((60, 4))
    y_reg = rng.normal(size=60)
    reg = quality * y_reg + (1 - quality) * rng.normal(size=60)
    return {
        "genre": evaluate_task("classification", y_cls, proba),
        "tags": evaluate_task("multilabel", y_ml, ml),
        "score": evaluate_task("regression", y_reg, reg),
    }


def _baselines() -> dict[str, TaskReport]:
    rng = np.random.default_rng(0)
    y_cls = rng.integers(0, 3, 60)
    rng.dirichlet(np.ones(3), 60)
    y_ml = (rng.random((60, 4)) < 0.4).astype(int)
    rng.random((60, 4))
    y_reg = rng.normal(size=60)
    return {
        "genre": baseline_report("classification", y_cls, y_cls, classes=["0", "1", "2"]),
        "tags": baseline_report("multilabel", y_ml, y_ml),
        "score": baseline_report("regression", y_reg, y_reg),
    }


def test_combined_score_orders_models_and_is_one_when_perfect():
    baselines = _baselines()
    perfect = combined_score(_three_heads(1.0), baselines)
    good = combined_score(_three_heads(0.8), baselines)
    poor = combined_score(_three_heads(0.2), baselines)
    assert perfect == pytest.approx(1.0)
    assert perfect > good > poor


def test_combined_score_is_zero_for_a_model_equal_to_its_baseline():
    baselines = _baselines()
    assert combined_score(baselines, baselines) == pytest.approx(0.0)


def test_normalized_score_formulas():
    base = evaluate_task("regression", [0, 0], [2, 2])  # MAE 2
    model = evaluate_task("regression", [0, 0], [1, 1])  # MAE 1
    assert normalized_score(model, base) == pytest.approx(0.5)
    acc_base = evaluate_task("classification", [0, 1, 1, 1], [[0.4, 0.6]] * 4)  # acc 0.75
    acc_model = evaluate_task("classification", [0, 1, 1, 1], [[0.6, 0.4]] + [[0.4, 0.6]] * 3)  # acc 1
    assert normalized_score(acc_model, acc_base) == pytest.approx(1.0)
    assert normalized_score(acc_base, acc_model) == pytest.approx(-0.25)  # perfect baseline: raw gap


def test_primary_score_higher_is_better():
    assert primary_score("regression", evaluate_task("regression", [0, 0], [1, 1])) == pytest.approx(-1.0)
    assert primary_score("classification", evaluate_task("classification", Y, PROBA)) == pytest.approx(0.75)
    assert primary_score("multilabel", evaluate_task("multilabel", ML_TRUE, ML_PROBA)) == pytest.approx(2 / 3)


def test_combined_score_rejects_missing_baseline_and_task_mismatch():
    reports = _three_heads(0.5)
    with pytest.raises(InputError, match="tags"):
        combined_score(reports, {k: v for k, v in _baselines().items() if k != "tags"})
    with pytest.raises(InputError, match="regression"):
        combined_score({"score": reports["score"]}, {"score": reports["genre"]})
    with pytest.raises(InputError):
        combined_score({}, {})


def test_to_dict_is_json_safe_and_markdown_table_lists_heads():
    reports, baselines = _three_heads(0.8), _baselines()
    for report in reports.values():
        payload = json.loads(json.dumps(report.to_dict(), allow_nan=False))
        assert payload["task"] == report.task
        assert payload["metrics"] == pytest.approx(report.metrics)
    assert len(reports["genre"].to_dict()["confusion_matrix"]) == 3
    assert set(reports["tags"].to_dict()["per_label_f1"]) == {"0", "1", "2", "3"}
    table = markdown_table(reports, baselines)
    assert table.startswith("| head | task | metric | model | baseline |")
    for head, metric in [("genre", "accuracy"), ("tags", "micro_f1"), ("score", "mae")]:
        line = next(row for row in table.splitlines() if row.startswith(f"| {head} |") and f"| {metric} |" in row)
        assert line.rstrip("| ").split("|")[-1].strip() == f"{baselines[head].metrics[metric]:.4f}"
    assert f"{combined_score(reports, baselines):.4f}" in table
    assert "f1_0" not in table


# --------------------------------------------------------------------------- plots


def _assert_png(path, out_dir):
    assert path.parent == out_dir and path.suffix == ".png" and path.exists()
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    with Image.open(path) as image:
        assert image.size[0] > 100 and image.size[1] > 100


def test_plots_write_valid_pngs(tmp_path):
    out = tmp_path / "plots"
    cls = evaluate_task("classification", Y, PROBA, classes=["drama", "comedy", "horror"])
    ml = evaluate_task("multilabel", ML_TRUE, ML_PROBA, labels=["a", "b", "c"])
    paths = [
        plot_confusion_matrix(cls.confusion_matrix, cls.names, out),
        plot_per_label_f1(ml.per_label_f1, ml.names, out, baseline=[0.5, 0.5, 0.0]),
        plot_predicted_vs_actual([1, 2, 3, 4], [1.5, 2, 3, 4], out),
        plot_learning_curves(
            {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7], "genre_accuracy": [0.3, 0.5, 0.6]}, out
        ),
        plot_trial_leaderboard(
            [
                {"trial_id": "t0", "score": 0.4, "status": "COMPLETED"},
                {"trial_id": "t1", "score": None, "status": "FAILED"},
                {"trial_id": "t2", "score": 0.7, "status": "COMPLETED"},
            ],
            out,
        ),
    ]
    assert len({p.name for p in paths}) == 5
    for path in paths:
        _assert_png(path, out)


def test_learning_curves_accept_a_history_object(tmp_path):
    class History:
        history = {"loss": [0.9, 0.5]}

    _assert_png(plot_learning_curves(History(), tmp_path, filename="h.png"), tmp_path)


def test_plots_reject_inconsistent_input(tmp_path):
    with pytest.raises(InputError, match="class names"):
        plot_confusion_matrix(np.eye(3), ["a", "b"], tmp_path)
    with pytest.raises(InputError, match="no trials"):
        plot_trial_leaderboard([], tmp_path)
    with pytest.raises(InputError, match="history"):
        plot_learning_curves({}, tmp_path)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("task", "y_true", "y_pred", "kwargs", "message"),
    [
        ("classification", [0, 1, 1], PROBA, {}, "length mismatch"),
        ("classification", Y, np.where(PROBA == 0.8, np.nan, PROBA), {}, "y_pred holds 1 NaN"),
        ("classification", [0, 1, 1, 3], PROBA, {}, "out of range"),
        ("classification", Y, PROBA * 10, {}, "probabilities"),
        ("classification", Y, PROBA, {"classes": ["a", "b"]}, "2 class names"),
        ("multilabel", ML_TRUE, ML_PROBA[:2], {}, "length mismatch"),
        ("multilabel", ML_TRUE, ML_PROBA, {"thresholds": [0.5, 0.5]}, "2 thresholds"),
        ("multilabel", ML_TRUE, ML_PROBA, {"labels": ["a", "b", "c"], "thresholds": {"d": 0.3}}, "'d'|d"),
        ("multilabel", ML_TRUE * 2, ML_PROBA, {}, "multi-hot"),
        ("regression", [1, 2, 3], [1, 2], {}, "length mismatch"),
        ("regression", [1, 2], [1, float("nan")], {}, "y_pred holds 1 NaN/inf value\\(s\\), first at row 1"),
        ("ranking", [1], [1], {}, "unknown task 'ranking'"),
    ],
)
def test_bad_input_raises_input_error_naming_it(task, y_true, y_pred, kwargs, message):
    with pytest.raises(InputError, match=message):
        evaluate_task(task, y_true, y_pred, **kwargs)


def test_baseline_rejects_unknown_task_and_empty_train():
    with pytest.raises(InputError, match="unknown task"):
        baseline_report("ranking", [1], [1])
    with pytest.raises(InputError, match="y_train is empty"):
        baseline_report("regression", [], [1.0])


def test_leaderboard_best_is_the_lowest_loss_when_minimising(tmp_path):
    from components.evaluation import rank_trials

    trials = [
        {"trial_id": "0", "score": 2.3, "status": "COMPLETED"},
        {"trial_id": "1", "score": 1.9, "status": "COMPLETED"},
        {"trial_id": "2", "score": None, "status": "FAILED"},
    ]
    assert [t["trial_id"] for t in rank_trials(trials, "min")] == ["1", "0", "2"]
    assert [t["trial_id"] for t in rank_trials(trials, "max")] == ["0", "1", "2"]
    path = plot_trial_leaderboard(trials, tmp_path, direction="min", objective="val_combined_loss")
    assert path.stat().st_size > 0
