"""Rare classes: when a classification target counts as imbalanced, and what Braid does about it.

One rule for the library's `ClassificationHead` and the pipeline's classification task (its primary
metric), so a head trained by either treats the same targets the same way:

- a target is *imbalanced* when its smallest class has less than `RARE_SHARE` of the share it would
  have if the classes were equally frequent (`is_imbalanced`): below 10% for two classes, 2% for ten.
  There a constant answer already scores 90%+ accuracy (two classes) and a network trained on the
  plain loss settles on it (flights' `cancelled`, 2.5% yes, predicted "no" for every flight);
- a binary such head decides with a threshold tuned on validation predictions for macro-F1
  (`macro_f1_threshold`). On flights' cancelled (20,000 rows, 2 trials x 3 epochs, medians of 3
  seeds) the threshold alone gives macro-F1 0.564, balanced class weights alone 0.466, both 0.569 but
  a worse arr_delay head on every seed (MAE 25.40 vs 25.02), neither 0.495 (the constant);
- a multi-class one trains on the plain loss: balanced weights (`balanced_weights`, an option) cost
  posters' content_rating (6 classes, the rarest 1% of rows; 3 trials x 5 epochs, medians of seeds
  0-2) network accuracy 0.680 -> 0.585 and macro-F1 0.589 -> 0.511, the served blend accuracy 0.677
  -> 0.634 for macro-F1 0.581 -> 0.587; on the posters' images alone accuracy 0.445 -> 0.272 (seed 0);
- such a head is ranked by macro-F1, which a constant cannot win (half the F1 of the majority
  class at best).

numpy only: `components.automl` and `components.data` both import it, and neither may import the other.
"""

from __future__ import annotations

import numpy as np

RARE_SHARE = 0.2  # of the uniform share 1 / classes
IMBALANCED_METRIC = "macro_f1"


def is_imbalanced(counts) -> bool:
    """Whether the smallest class (of those with rows) is rare: its share of the rows is below
    `RARE_SHARE` / number of classes.

    Args:
        counts: rows per class (classes without rows are left out: they cannot be weighted).

    Example:
        >>> is_imbalanced([975, 25]), is_imbalanced([63, 37])
        (True, False)
    """
    counts = np.asarray(counts, dtype="float64").reshape(-1)
    counts = counts[counts > 0]
    if len(counts) < 2:
        return False
    return bool(counts.min() / counts.sum() < RARE_SHARE / len(counts))


def balanced_weights(counts) -> np.ndarray:
    """`total / (classes * count)` per class (scikit-learn's "balanced"): every class weighs as much
    in the loss as the others together would if they were equally frequent; 0 for a class with no rows."""
    counts = np.asarray(counts, dtype="float64").reshape(-1)
    present = max(int((counts > 0).sum()), 1)
    return np.where(counts > 0, counts.sum() / (present * np.maximum(counts, 1)), 0.0).astype("float32")


def macro_f1_threshold(y_true, probability) -> float:
    """The decision threshold on a binary head's positive-class probability with the highest macro-F1.

    Every cut between two distinct probabilities is tried (one pass over the sorted rows); the
    threshold is the midpoint of the best cut, and a row is positive when `probability >= threshold`.
    0.5 when the rows hold a single class (nothing to tune on).

    Args:
        y_true: 0/1 per row (rows with an unknown target already left out).
        probability: the model's probability of class 1 per row.

    Example:
        >>> macro_f1_threshold([0, 0, 0, 1], [0.05, 0.1, 0.2, 0.3])
        0.25
    """
    y = np.asarray(y_true).reshape(-1) > 0.5
    p = np.asarray(probability, dtype="float64").reshape(-1)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return 0.5
    order = np.argsort(-p, kind="stable")
    p, y = p[order], y[order]
    # Predicting the first k rows (highest probability) positive, for k = 0..n.
    tp = np.concatenate([[0], np.cumsum(y)]).astype("float64")
    fp = np.arange(len(y) + 1) - tp
    fn, tn = positives - tp, negatives - fp
    macro = (2 * tp / np.maximum(2 * tp + fp + fn, 1) + 2 * tn / np.maximum(2 * tn + fn + fp, 1)) / 2
    cuts = np.concatenate([[True], p[:-1] > p[1:], [True]])  # ties fall on the same side
    k = int(np.flatnonzero(cuts)[np.argmax(macro[cuts])])
    if k == 0:
        return float(np.nextafter(p[0], np.inf))
    if k == len(p):
        return float(p[-1])
    return float((p[k - 1] + p[k]) / 2)
