"""The classical model a user would try first, fitted on the same split as the network.

`fit_classical` answers "is the network worth it?": TF-IDF + logistic regression for text and
multi-label heads, gradient boosting on the numbers for classification and regression. Its
predictions come in the form `components.evaluation.evaluate_task` scores, so both models are
measured by the same code:

    from components.evaluation import evaluate_task
    from components.evaluation.classical import ClassicalInputs, fit_classical

    train = ClassicalInputs(texts=[overviews_train], numbers=numbers_train)
    test = ClassicalInputs(texts=[overviews_test], numbers=numbers_test)
    fit = fit_classical("multilabel", train, genres_train, test, seed=0)
    report = evaluate_task("multilabel", genres_test, fit.y_pred, thresholds=fit.threshold)

numpy, pandas and scikit-learn only: no TensorFlow, nothing from the data pipeline.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.base import clone
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from components.errors import InputError
from components.features.audio import cell_summaries
from components.features.datetime import parse_dates, tree_date_parts
from components.features.timeseries import summary_features

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
# HistGradientBoosting accepts at most 255 bins, one of them for missing values; rarer categories
# are pooled so high-cardinality columns (director names) stay usable.
_MAX_TREE_CATEGORIES = 250
# From this many training rows the trees boost up to 1,000 rounds and stop when 20 rounds in a row do not
# improve a held-out 10%: on all 336,776 flights 100 rounds underfit (arr_delay MAE 22.51 after 100
# absolute-error rounds, 22.06 after the 521 early stopping kept); below it, 100 rounds and no hold-out,
# which a few thousand rows cannot spare (benchmarks/README.md, "flights").
_LARGE_TREE_ROWS = 10_000


# The trees' size on those rows is chosen on the same hold-out: 31 leaves first (scikit-learn's and
# LightGBM's default), then eight times as many while the held-out loss improves. Large tables hold
# interactions that small trees miss: on all flights (suite split) arr_delay MAE 22.18 with 31 leaves,
# 21.33 with 255, 20.84 with 2,047 (4,095: 20.84, its hold-out no better); on 20,000 flights 23.13,
# 23.00 with 511; cancelled's hold-out keeps 31 there (benchmarks/README.md, "Tree size").
_TREE_LEAVES = (31, 255, 2047)


# HistGradientBoosting's OpenMP threads meet at a barrier in every step of every node, and the steps are
# short: where the cores are idle, a thread that waits passively (`import components` sets it) is woken
# at each, and where other work shares them, a spinning one waits for a descheduled one. So the trees
# fit on one thread, and predict on one under this many rows. All flights, 15 rounds of 2,047-leaf
# trees: 5.9 s on one thread, 35.6 s on two waiting passively, 5.0 s on two spinning (idle machine);
# 60,000 rows, 200 rounds of 31 leaves at load 11: 9.7 s on one, 4.3 s on two passive, 220 s on two
# spinning; 80 rows x 20 columns: 0.3 s on one, 40 s on two at load 11 (benchmarks/README.md, "Tree size"
# and "overhead").
SERIAL_ROWS = 10_000


def _boosting(rows: int) -> dict:
    """HistGradientBoosting's rounds and early stopping for `rows` training rows (see `_LARGE_TREE_ROWS`)."""
    if rows < _LARGE_TREE_ROWS:
        return {"max_iter": 100, "early_stopping": False}
    return {"max_iter": 1000, "early_stopping": True, "n_iter_no_change": 20}


def _openmp_threads(rows: int) -> threadpool_limits:
    """The OpenMP threads a model predicting `rows` rows uses (a context): one under `SERIAL_ROWS`, all of
    them otherwise (see `SERIAL_ROWS`; fitting always takes one)."""
    return threadpool_limits(1 if rows < SERIAL_ROWS else None, user_api="openmp")


# From `_LARGE_TREE_ROWS` rows a classification head's trees are a bag: `_BAG_MEMBERS` boosted models, each
# seeded apart (its own early-stopping hold-out) and drawing `_BAG_FEATURES` of the columns at every split,
# their probabilities averaged; the members beyond the first fit on as many threads as there are cores. On
# all flights (`python -m benchmarks.tree_size --task classification --bag 1 3 5`: 3 random 70/15/15 splits,
# threshold tuned on the 15%) cancelled's test macro-F1 is 0.778 for one model, 0.786 for the bag of 5
# (+0.011, +0.013 and 0.000 on the three splits; 3 members: 0.784; one member drawing 70%: 0.778). A
# regression bag gains too (arr_delay MAE 20.63 -> 20.30 with 3 members of 2,047 leaves, one split) but at
# two to five times the fit of trees that already take minutes there, over the 10-minute goal of a flights
# run: regression keeps one model (benchmarks/README.md, "Tree bag").
_BAG_MEMBERS = 5
_BAG_FEATURES = 0.7


class TreeBag:
    """Gradient-boosted models fitted alike but for their seed, predicting the average of theirs. The
    settings and fitted attributes they share (`_SHARED`) read as the first member's."""

    _SHARED = ("max_leaf_nodes", "max_features", "loss", "classes_", "n_iter_", "validation_score_")

    def __init__(self, members: list):
        self.members = members

    def __getattr__(self, name: str):
        if name not in TreeBag._SHARED:
            raise AttributeError(name)
        return getattr(self.members[0], name)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.mean([member.predict(x) for member in self.members], axis=0)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.mean([member.predict_proba(x) for member in self.members], axis=0)


def _fit_trees(model, x: np.ndarray, y: np.ndarray, leaves: int | None = None):
    """`model` (a HistGradientBoosting estimator) fitted on `x`, `y` with `leaves` leaves per tree, or,
    when None, with the size `_TREE_LEAVES` chooses on its early-stopping hold-out (31 leaves when there
    is none, under `_LARGE_TREE_ROWS` rows), each fit on one OpenMP thread. A classifier with early
    stopping (large tables) becomes a `TreeBag` of `_BAG_MEMBERS` such models; else the fitted estimator."""
    if not model.get_params()["early_stopping"]:
        return _serial_fit(model.set_params(max_leaf_nodes=leaves or _TREE_LEAVES[0]), x, y)
    bagged = isinstance(model, HistGradientBoostingClassifier)
    if bagged:
        model.set_params(max_features=_BAG_FEATURES)
    first = _serial_fit(model.set_params(max_leaf_nodes=leaves), x, y) if leaves else _grown_trees(model, x, y)
    return TreeBag([first, *bag_members(first, x, y, _BAG_MEMBERS - 1)]) if bagged else first


def bag_members(first, x: np.ndarray, y: np.ndarray, count: int) -> list:
    """`count` more members of a bag whose first member is `first` (fitted): unfitted copies of it seeded
    `first.random_state + 1`, `+ 2`, ..., fitted on `x`, `y` on as many threads as there are cores."""
    seeds = [first.random_state + i for i in range(1, count + 1)]
    return Parallel(n_jobs=max(1, min(count, os.cpu_count() or 1)), prefer="threads")(
        delayed(_serial_fit)(clone(first).set_params(random_state=seed), x, y) for seed in seeds
    )


def _serial_fit(model, x: np.ndarray, y: np.ndarray):
    """`model` fitted on one OpenMP thread (a per-thread setting: every thread that fits sets it)."""
    with threadpool_limits(1, user_api="openmp"):
        return model.fit(x, y)


def _trees_described(model) -> str:
    """The trees in words: `HistGradientBoostingRegressor (absolute error, 2047 leaves)`, or for a bag
    `5 x HistGradientBoostingClassifier (255 leaves, 70% of the columns per split)`."""
    single = model.members[0] if isinstance(model, TreeBag) else model
    parts = [single.loss.replace("_", " ")] if isinstance(single, HistGradientBoostingRegressor) else []
    parts.append(f"{single.max_leaf_nodes} leaves")
    if isinstance(model, TreeBag):
        parts.append(f"{single.max_features:.0%} of the columns per split")
        return f"{len(model.members)} x {type(single).__name__} ({', '.join(parts)})"
    return f"{type(single).__name__} ({', '.join(parts)})"


def _grown_trees(model, x: np.ndarray, y: np.ndarray):
    best = None
    for size in _TREE_LEAVES:
        candidate = _serial_fit(clone(model).set_params(max_leaf_nodes=size), x, y)
        # validation_score_ is the negative loss on the same held-out rows for every size (one random_state)
        score = float(candidate.validation_score_[-1])
        if best is not None and score <= best[0] + 1e-4 * abs(best[0]):
            break
        best = (score, candidate)
    return best[1]


@dataclass(frozen=True)
class ClassicalInputs:
    """The features of one split, by kind.

    Args:
        texts: one list of strings per text column (all of length N); joined per row with a space.
        numbers: `[N, D]` floats, NaN where missing (pass log-scaled values when `log_numbers=False`).
        categories: `[N, C]` strings (None or NaN where missing).
    """

    texts: Sequence[Sequence[str]] = ()
    numbers: np.ndarray | None = None
    categories: np.ndarray | None = None

    def rows(self, split: str) -> int:
        """The common row count of every feature; raises InputError when they disagree."""
        counts = {f"texts[{i}]": len(t) for i, t in enumerate(self.texts)}
        if self.numbers is not None:
            counts["numbers"] = len(self.numbers)
        if self.categories is not None:
            counts["categories"] = len(self.categories)
        if not counts:
            raise InputError(f"{split} has no features: give texts, numbers or categories")
        if len(set(counts.values())) > 1:
            raise InputError(f"{split} features have different row counts: {counts}")
        return next(iter(counts.values()))

    def take(self, rows: np.ndarray) -> "ClassicalInputs":
        """The same features of some rows (`rows`: indices or a boolean mask)."""
        return ClassicalInputs(
            texts=[list(np.asarray(column, dtype=object)[rows]) for column in self.texts],
            numbers=None if self.numbers is None else np.asarray(self.numbers)[rows],
            categories=None if self.categories is None else np.asarray(self.categories)[rows],
        )


@dataclass(frozen=True)
class ClassicalFit:
    """What `fit_classical` returns.

    Args:
        task: "classification", "multilabel" or "regression".
        y_pred: test predictions as `evaluate_task` takes them: probabilities `[N, C]`
            (classification), probabilities `[N, L]` (multilabel), values `[N]` (regression).
        description: the model in words, for tables and reports.
        threshold: multilabel only: the global threshold with the best micro-F1 on a validation
            part of train (never on test); pass it as `evaluate_task(..., thresholds=...)`.
        validation_f1: multilabel only: the micro-F1 at `threshold` on that validation part.
    """

    task: str
    y_pred: np.ndarray
    description: str
    threshold: float | None = None
    validation_f1: float | None = None
    notes: tuple[str, ...] = field(default=())


class ClassicalModel:
    """One head's fitted classical model: its features and estimator, predicting in the form
    `evaluate_task` scores (probabilities `[N, C]` / `[N, L]`, values `[N]`).

    `columns` (a `ClassicalColumns`) lets it predict straight from raw rows (`predict_rows`): what the
    served model does. Saved and loaded with `save_classical` / `load_classical` (skops: no pickle).
    """

    def __init__(self, task: str, features, estimator, description: str, n_classes: int = 0, columns=None):
        self.task, self.features, self.estimator = task, features, estimator
        self.description, self.n_classes, self.columns = description, n_classes, columns

    def predict(self, inputs: ClassicalInputs) -> np.ndarray:
        x = self.features.transform(inputs)
        with _openmp_threads(x.shape[0]):
            if self.task == "regression":
                return self.estimator.predict(x)
            known = self.estimator.predict_proba(x)
        if self.task != "classification":
            return known
        # classes absent from train get probability 0, so the columns stay aligned with the indices
        proba = np.zeros((len(known), self.n_classes))
        proba[:, self.estimator.classes_] = known
        return proba

    @property
    def tree_leaves(self) -> int | None:
        """The leaves per tree of a gradient-boosted model (None for a linear one): what a refit keeps."""
        return getattr(self.estimator, "max_leaf_nodes", None)

    def predict_rows(self, rows: pd.DataFrame) -> np.ndarray:
        """Predictions for raw rows (the columns `self.columns` names)."""
        if self.columns is None:
            raise InputError("this classical model was fitted without its raw columns; call predict(inputs)")
        return self.predict(self.columns.inputs(rows))


@dataclass(frozen=True)
class ClassicalColumns:
    """Which raw columns feed the classical model, by kind, so the same features come from raw rows in
    training and in serving.

    Args:
        texts: text columns (joined per row).
        numbers: numeric columns (coerced; unreadable cells are missing).
        dates: `(column, format)` pairs (format None: ISO 8601), as the raw timestamp, month, day of
            year, day of week and hour of day (`components.features.datetime.tree_date_parts`).
        categories: category columns (as strings; missing stays missing).
        series: `(column, channels)` pairs of time-series columns, as summary numbers per channel (mean,
            std, min, max, first, last) and the length (`components.features.timeseries.summary_features`).
        audio: `(column, sample_rate, max_seconds)` of audio columns, as the mean and std of each MFCC,
            the RMS level and the spectral centroid (`components.features.audio.summary_features`); a
            cell is bytes, a data URI or a readable path (`pipeline.classical` resolves the media root's).
    """

    texts: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    dates: tuple[tuple[str, str | None], ...] = ()
    categories: tuple[str, ...] = ()
    series: tuple[tuple[str, int | None], ...] = ()
    audio: tuple[tuple[str, int, float], ...] = ()

    def inputs(self, rows: pd.DataFrame) -> ClassicalInputs:
        """The `ClassicalInputs` of raw rows."""
        missing = [
            c
            for c in (
                *self.texts,
                *self.numbers,
                *(d for d, _ in self.dates),
                *self.categories,
                *(s for s, _ in self.series),
                *(a for a, _, _ in self.audio),
            )
            if c not in rows
        ]
        if missing:
            raise InputError(f"rows lack the classical model's column(s) {missing}")
        texts = [rows[c].fillna("").astype(str).tolist() for c in self.texts]
        numbers = [pd.to_numeric(rows[c], errors="coerce").to_numpy(dtype="float64") for c in self.numbers]
        for column, form in self.dates:
            # the raw timestamp for trends, and the yearly, weekly and daily cycles it hides from trees
            numbers += tree_date_parts(parse_dates(rows[column].reset_index(drop=True), form)[0])
        for column, channels in self.series:
            numbers += list(summary_features(rows[column].astype(object), channels).T)
        for column, rate, seconds in self.audio:
            numbers += list(cell_summaries(list(rows[column].astype(object)), rate, seconds).T)
        categories = [rows[c].astype(object).where(rows[c].notna(), None).to_numpy() for c in self.categories]
        return ClassicalInputs(
            texts=texts,
            numbers=_finite(np.stack(numbers, axis=1)) if numbers else None,
            categories=np.stack(categories, axis=1) if categories else None,
        )


def _finite(numbers: np.ndarray) -> np.ndarray:
    """Infinite cells are missing, as the network's preprocessing treats them (the served blend then runs
    scikit-learn with `assume_finite`)."""
    return np.where(np.isfinite(numbers), numbers, np.nan)


def train_classical(
    task: str,
    train: ClassicalInputs,
    y_train: np.ndarray,
    *,
    seed: int = 0,
    log_numbers: bool = True,
    n_classes: int = 0,
    columns: ClassicalColumns | None = None,
    leaves: int | None = None,
) -> ClassicalModel:
    """Fits the classical model of one head (the models `fit_classical` describes) and returns it.

    Args:
        task, train, y_train, seed, log_numbers: as for `fit_classical`.
        n_classes: classification: the number of probability columns (at least `max(y_train) + 1`).
        columns: the raw columns `train` came from, kept so the model predicts raw rows.
        leaves: the trees' leaves (`tree_leaves` of an earlier fit: a refit keeps the size it chose);
            None chooses them (see `fit_classical`).
    """
    if train.rows("train") != len(y_train):
        raise InputError(f"y_train has {len(y_train)} rows but the train features have {train.rows('train')}")
    y = np.asarray(y_train)
    if task == "classification":
        model = _classification_model(train, y, seed, log_numbers, n_classes, leaves)
    elif task == "regression":
        model = _regression_model(train, y, seed, leaves)
    elif task == "multilabel":
        model = _multilabel_model(train, y, seed, log_numbers)
    else:
        raise InputError(f"unknown task {task!r}; expected classification, multilabel or regression")
    model.columns = columns
    return model


# Types a saved classical model may hold (skops loads nothing else): scikit-learn, numpy, scipy, this module.
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", f"{__name__}.", "builtins.", "functools.partial")


def save_classical(models: dict[str, ClassicalModel], path) -> None:
    """Write `{head: ClassicalModel}` to one skops file (a safe format: loading runs no pickled code)."""
    import skops.io

    skops.io.dump(models, path)


def load_classical(path) -> dict[str, ClassicalModel]:
    """Read what `save_classical` wrote; refuses a file holding types outside scikit-learn, numpy and this module."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    foreign = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if foreign:
        raise InputError(f"{path} holds types a classical model never has: {foreign}; it was not written by Braid")
    return skops.io.load(path, trusted=untrusted)


def fit_classical(
    task: str,
    train: ClassicalInputs,
    y_train: np.ndarray,
    test: ClassicalInputs,
    *,
    seed: int = 0,
    log_numbers: bool = True,
    validation_fraction: float = 0.2,
) -> ClassicalFit:
    """Fits the classical model for one head on train and predicts test.

    - multilabel: TF-IDF 1-2 grams (sublinear tf, min_df 2) of the joined text, standardised
      numbers and one-hot categories; one-vs-rest logistic regression (C=4). The global threshold
      is chosen on `validation_fraction` of train (model fitted on the rest), then the model is
      refitted on all of train.
    - classification: HistGradientBoostingClassifier on the numbers (categories as categorical
      features); TF-IDF + multinomial logistic regression when there are neither.
    - regression: HistGradientBoostingRegressor fitting the absolute error (the head's primary metric;
      the squared error when one value holds half the targets) on the numbers (+ categories); TF-IDF +
      ridge regression when there are neither.
    - the trees: 100 boosting rounds of 31 leaves under 10,000 training rows, else up to 1,000 rounds
      with early stopping on a held-out 10%, and as many leaves per tree (31, 255 or 2,047) as
      improve that hold-out's loss; there a classification head's trees are a bag of 5 such models
      seeded apart, each drawing 70% of the columns at every split, their probabilities averaged.

    Args:
        task: "classification", "multilabel" or "regression".
        train: train features.
        y_train: classification: class indices `[N]` (0..C-1); multilabel: multi-hot `[N, L]`;
            regression: values `[N]` or `[N, 1]`.
        test: test features, the same columns as train.
        seed: seeds the validation split and the models.
        log_numbers: apply `sign(x) * log1p(|x|)` to the numbers first (heavy-tailed budgets and
            counts); False when they are already log-scaled.
        validation_fraction: the part of train that picks the multilabel threshold.

    Returns:
        A `ClassicalFit`; for classification `y_pred` has `max(y_train) + 1` columns.
    """
    n_train = train.rows("train")
    test.rows("test")
    _check_same_columns(train, test)
    y = np.asarray(y_train)
    if len(y) != n_train:
        raise InputError(f"y_train has {len(y)} rows but the train features have {n_train}")
    if task == "multilabel":
        return _fit_multilabel(train, y, test, seed, log_numbers, validation_fraction)
    if task == "classification":
        return _fit_classification(train, y, test, seed, log_numbers)
    if task == "regression":
        return _fit_regression(train, y, test, seed)
    raise InputError(f"unknown task {task!r}; expected classification, multilabel or regression")


def best_threshold(y_true: np.ndarray, proba: np.ndarray) -> tuple[float, float]:
    """The global threshold of `THRESHOLD_GRID` with the highest micro-F1, and that micro-F1."""
    truth = np.asarray(y_true).astype(int)
    scores = [f1_score(truth, (proba >= t).astype(int), average="micro", zero_division=0) for t in THRESHOLD_GRID]
    best = int(np.argmax(scores))
    return float(THRESHOLD_GRID[best]), float(scores[best])


# --------------------------------------------------------------------------- heads


def _fit_multilabel(train, y, test, seed, log_numbers, validation_fraction) -> ClassicalFit:
    if y.ndim != 2 or not np.isin(y, (0, 1)).all():
        raise InputError(f"multilabel y_train must be multi-hot [N, L] of 0/1; got shape {y.shape}")
    if not 0.0 < validation_fraction < 1.0:
        raise InputError(f"validation_fraction={validation_fraction}; use a fraction in (0, 1)")
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = round(len(y) * validation_fraction)
    if n_val < 1 or n_val >= len(y):
        raise InputError(f"{len(y)} train rows are too few to hold out a validation part for the threshold")
    val, fit = order[:n_val], order[n_val:]
    proba_val = _multilabel_model(train.take(fit), y[fit], seed, log_numbers).predict(train.take(val))
    threshold, val_f1 = best_threshold(y[val], proba_val)
    model = _multilabel_model(train, y, seed, log_numbers)
    return ClassicalFit("multilabel", model.predict(test), model.description, threshold=threshold, validation_f1=val_f1)


def _multilabel_model(train, y, seed, log_numbers) -> ClassicalModel:
    if y.ndim != 2 or not np.isin(y, (0, 1)).all():
        raise InputError(f"multilabel y_train must be multi-hot [N, L] of 0/1; got shape {y.shape}")
    with warnings.catch_warnings():
        # a label absent from (part of) train is predicted constant: expected for rare genres
        warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
        features = _LinearFeatures(log_numbers)
        model = _one_vs_rest(seed).fit(features.fit(train), y)
    return ClassicalModel(
        "multilabel", features, model, f"one-vs-rest logistic regression (C=4) on {features.describe()}"
    )


def _fit_classification(train, y, test, seed, log_numbers) -> ClassicalFit:
    model = train_classical("classification", train, y, seed=seed, log_numbers=log_numbers)
    return ClassicalFit("classification", model.predict(test), model.description)


def _fit_regression(train, y, test, seed) -> ClassicalFit:
    model = train_classical("regression", train, y, seed=seed)
    return ClassicalFit("regression", model.predict(test), model.description)


def _classification_model(train, y, seed, log_numbers, n_classes, leaves=None) -> ClassicalModel:
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
        raise InputError(f"classification y_train must be class indices [N] (ints >= 0); got {y.dtype} {y.shape}")
    width = max(int(y.max()) + 1, n_classes or 0)
    if train.numbers is not None or train.categories is not None:
        tree, x, model = tree_estimator("classification", train, y, seed)
        model = _fit_trees(model, x, y, leaves)
        return ClassicalModel(
            "classification",
            tree,
            model,
            f"{_trees_described(model)} on {tree.describe()}",
            width,
        )
    features = _LinearFeatures(log_numbers)
    model = LogisticRegression(C=4.0, max_iter=2000, random_state=seed).fit(features.fit(train), y)
    return ClassicalModel(
        "classification", features, model, f"logistic regression (C=4) on {features.describe()}", width
    )


def _regression_model(train, y, seed, leaves=None) -> ClassicalModel:
    y = y.reshape(len(y), -1) if y.ndim > 1 else y
    if y.ndim != 1 and y.shape[1] != 1:
        raise InputError(f"regression y_train must be one value per row; got shape {y.shape}")
    target = pd.to_numeric(pd.Series(y.reshape(-1)), errors="coerce").to_numpy(float)
    if not np.isfinite(target).all():
        raise InputError("regression y_train holds missing or non-numeric values; drop those rows first")
    if train.numbers is not None or train.categories is not None:
        tree, x, model = tree_estimator("regression", train, target, seed)
        model = _fit_trees(model, x, target, leaves)
        return ClassicalModel(
            "regression",
            tree,
            model,
            f"{_trees_described(model)} on {tree.describe()}",
        )
    features = _LinearFeatures(log_numbers=False)
    model = Ridge(alpha=1.0).fit(features.fit(train), target)
    return ClassicalModel("regression", features, model, f"ridge regression on {features.describe()}")


def tree_estimator(task: str, train: ClassicalInputs, y: np.ndarray, seed: int = 0):
    """The gradient-boosted trees of a classification or regression head, before fitting: their features
    (`_TreeFeatures`, fitted on `train`), `train` as those features, and the estimator with the boosting
    rounds of `len(y)` rows and, for regression, the loss `_regression_loss` picks."""
    tree = _TreeFeatures()
    x = tree.fit(train)
    params = dict(random_state=seed, categorical_features=tree.categorical_mask(train), **_boosting(len(y)))
    if task == "regression":
        return tree, x, HistGradientBoostingRegressor(loss=_regression_loss(y), **params)
    return tree, x, HistGradientBoostingClassifier(**params)


def _regression_loss(target: np.ndarray) -> str:
    """The trees' loss for a regression head: the absolute error, the head's primary metric
    (`metrics.PRIMARY_METRIC`), which the conditional median minimises; on skewed targets the mean is far
    from it (all flights' arr_delay: MAE 22.06 fitting absolute error, 22.46 fitting squared error). The
    squared error when one value holds half the targets or more: the median is then that value, the
    absolute error's gradient is zero on every row that holds it, and boosting predicts it everywhere (a
    0/1 step: MAE 0.43 against 0.00)."""
    _, counts = np.unique(target, return_counts=True)
    return "squared_error" if counts.max() * 2 >= len(target) else "absolute_error"


def _one_vs_rest(seed: int) -> OneVsRestClassifier:
    # liblinear: the same fit as lbfgs on these sparse binary problems (micro-F1 within 0.001 on
    # movies) in a sixth of the time
    return OneVsRestClassifier(LogisticRegression(C=4.0, solver="liblinear", max_iter=2000, random_state=seed))


# --------------------------------------------------------------------------- features


class _LinearFeatures:
    """TF-IDF of the joined text + standardised numbers with missing flags + one-hot categories."""

    def __init__(self, log_numbers: bool):
        self.log_numbers = log_numbers
        self.parts: list[str] = []

    def fit(self, inputs: ClassicalInputs) -> sparse.csr_matrix:
        self.tfidf = self.scaler = self.onehot = None
        self.parts = []
        if inputs.texts:
            self.tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
            self.tfidf.fit(_joined(inputs.texts))
            self.parts.append("TF-IDF 1-2 grams of the text")
        if inputs.numbers is not None:
            numbers = self._numbers(inputs.numbers)
            self.median = np.nan_to_num(np.nanmedian(numbers, axis=0)) if len(numbers) else 0.0
            self.scaler = StandardScaler().fit(self._filled(numbers))
            self.parts.append(
                ("standardised log1p numbers" if self.log_numbers else "standardised numbers") + " with missing flags"
            )
        if inputs.categories is not None:
            self.onehot = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=2)
            self.onehot.fit(_strings(inputs.categories))
            self.parts.append("one-hot categories")
        return self.transform(inputs)

    def transform(self, inputs: ClassicalInputs) -> sparse.csr_matrix:
        blocks = []
        if self.tfidf is not None:
            blocks.append(self.tfidf.transform(_joined(inputs.texts)))
        if self.scaler is not None:
            blocks.append(sparse.csr_matrix(self.scaler.transform(self._filled(self._numbers(inputs.numbers)))))
        if self.onehot is not None:
            with warnings.catch_warnings():  # unseen test categories are expected: they map to zeros
                warnings.simplefilter("ignore", UserWarning)
                blocks.append(sparse.csr_matrix(self.onehot.transform(_strings(inputs.categories))))
        return sparse.hstack(blocks, format="csr")

    def describe(self) -> str:
        return " + ".join(self.parts)

    def _numbers(self, numbers: np.ndarray) -> np.ndarray:
        values = _floats(numbers)
        return np.sign(values) * np.log1p(np.abs(values)) if self.log_numbers else values

    def _filled(self, numbers: np.ndarray) -> np.ndarray:
        missing = np.isnan(numbers)
        return np.hstack([np.where(missing, self.median, numbers), missing.astype(float)])


class _TreeFeatures:
    """Numbers as they are (trees split on order) + categories as ordinal codes."""

    def fit(self, inputs: ClassicalInputs) -> np.ndarray:
        self.encoder = None
        if inputs.categories is not None:
            self.encoder = OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=np.nan,
                encoded_missing_value=np.nan,
                max_categories=_MAX_TREE_CATEGORIES,
            )
            self.encoder.fit(_strings(inputs.categories))
        self.has_numbers = inputs.numbers is not None
        return self.transform(inputs)

    def transform(self, inputs: ClassicalInputs) -> np.ndarray:
        blocks = []
        if self.has_numbers:
            blocks.append(_floats(inputs.numbers))
        if self.encoder is not None:
            blocks.append(self.encoder.transform(_strings(inputs.categories)))
        return np.hstack(blocks)

    def categorical_mask(self, inputs: ClassicalInputs) -> np.ndarray | None:
        n_numbers = 0 if inputs.numbers is None else np.shape(inputs.numbers)[1]
        n_categories = 0 if inputs.categories is None else np.shape(inputs.categories)[1]
        if n_categories == 0:
            return None
        return np.array([False] * n_numbers + [True] * n_categories)

    def describe(self) -> str:
        parts = (["the numbers"] if self.has_numbers else []) + (["categories"] if self.encoder is not None else [])
        return " + ".join(parts)


# --------------------------------------------------------------------------- checks


def _check_same_columns(train: ClassicalInputs, test: ClassicalInputs) -> None:
    if len(train.texts) != len(test.texts):
        raise InputError(f"train has {len(train.texts)} text columns but test has {len(test.texts)}")
    for name in ("numbers", "categories"):
        a, b = getattr(train, name), getattr(test, name)
        if (a is None) != (b is None):
            raise InputError(
                f"{name} is given for {'train' if a is not None else 'test'} only; give it for both or neither"
            )
        if a is not None and (np.ndim(a) != 2 or np.ndim(b) != 2 or np.shape(a)[1] != np.shape(b)[1]):
            raise InputError(
                f"{name} must be 2-D with the same columns in train and test; got {np.shape(a)} and {np.shape(b)}"
            )


def _joined(texts: Sequence[Sequence[str]]) -> list[str]:
    return [" ".join("" if v is None or pd.isna(v) else str(v) for v in row) for row in zip(*texts)]


def _floats(numbers: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(numbers, dtype=float)
    except (TypeError, ValueError) as err:
        raise InputError(f"numbers must be numeric (NaN for missing); coerce them first: {err}") from None


def _strings(categories: np.ndarray) -> np.ndarray:
    frame = pd.DataFrame(np.asarray(categories, dtype=object))
    return frame.where(frame.notna(), "<missing>").astype(str).to_numpy()
