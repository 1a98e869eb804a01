"""`seeded`: layers built under one seed get the same weights whatever else draws from `random`."""

import random

import keras
import numpy as np
from keras.src.random import seed_generator

from components.automl.seeding import seeded


def build(draw_between: bool) -> list[np.ndarray]:
    layers = []
    with seeded(7):
        for _ in range(3):
            layers.append(keras.layers.Dense(4))
            if draw_between:  # what a websockets keepalive ping in another thread does mid-build
                random.getrandbits(32)
        dropout = keras.layers.Dropout(0.5)
    model = keras.Sequential([keras.Input((5,)), *layers, dropout])
    return [w.numpy() for w in model.weights] + [np.asarray(dropout(np.ones((2, 4)), training=True))]


def test_draws_from_the_global_random_do_not_change_the_layers_seeds():
    quiet, noisy = build(draw_between=False), build(draw_between=True)
    assert len(quiet) == len(noisy) == 7
    for a, b in zip(quiet, noisy):
        np.testing.assert_array_equal(a, b)


def test_keras_gets_the_shared_generator_back_and_seed_none_changes_nothing():
    with seeded(None):
        assert seed_generator.python_random is random
    with seeded(1):
        assert seed_generator.python_random is not random
    assert seed_generator.python_random is random
