"""Static, uncertainty and GradNorm weighting combine task losses; GradNorm moves weights toward balance."""

import numpy as np
import pytest
import tensorflow as tf

from components.automl.loss_weighting import LossWeighting, resolve_weights
from components.errors import InputError


def test_static_weights_sum_weighted_losses():
    weighting = LossWeighting("static", [1.0, 2.0])
    assert float(weighting.combine([tf.constant(1.0), tf.constant(3.0)])) == pytest.approx(7.0)


def test_uncertainty_starts_as_plain_sum_and_learns_log_variances():
    weighting = LossWeighting("uncertainty", [1.0, 1.0])
    losses = [tf.constant(2.0), tf.constant(0.5)]
    assert float(weighting.combine(losses)) == pytest.approx(2.5)
    with tf.GradientTape() as tape:
        total = weighting.combine(losses)
    grad = tape.gradient(total, weighting.log_vars).numpy()
    assert grad[0] < grad[1]  # the larger loss pushes its variance up more


def test_gradnorm_boosts_the_task_with_the_weaker_gradient():
    weighting = LossWeighting("gradnorm", [1.0, 1.0])
    losses = [tf.constant(1.0), tf.constant(1.0)]
    for _ in range(5):
        weighting.gradnorm_update(losses, tf.constant([1.0, 0.1]))
    weights = weighting.task_weights.numpy()
    assert weights[1] > weights[0] and weights.sum() == pytest.approx(2.0)


def test_unknown_mode_and_bad_weights_are_input_errors():
    with pytest.raises(InputError, match="loss_weighting"):
        LossWeighting("magic", [1.0])
    with pytest.raises(InputError, match="unknown heads"):
        resolve_weights(["a"], {"b": 1.0})
    assert resolve_weights(["a", "b"], {"b": 3.0}) == [1.0, 3.0]
    assert np.allclose(resolve_weights(["a", "b"], None), [1, 1])
