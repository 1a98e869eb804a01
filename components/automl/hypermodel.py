"""The graph as a keras-tuner HyperModel: what one trial builds and how it trains (AutoKeras's
`graph.HyperGraph` + `engine.tuner` fit, in one place)."""

from __future__ import annotations

import contextlib

import keras
import keras_tuner as kt
import tensorflow as tf

from components.automl import training
from components.automl.frozen import Feeds
from components.automl.graph import Graph
from components.automl.loss_weighting import MODES, LossWeighting, MultiTaskModel
from components.automl.seeding import seeded


class GraphHyperModel(kt.HyperModel):
    """The graph as a keras-tuner HyperModel: `build(hp)` → compiled MultiTaskModel.

    `fit` takes the *unbatched* training dataset and shuffles and batches it afresh for each trial,
    so every trial (and a trial rerun after a resume) sees the same sequence of batches.
    """

    def __init__(
        self,
        graph: Graph,
        loss_weighting: str,
        loss_weights: list[float],
        seed: int | None,
        learning_rate: float | None,
        batch_size: int = 32,
        shuffle_buffer: int = 10000,
    ):
        super().__init__()
        self.graph, self.loss_weighting, self.loss_weights = graph, loss_weighting, loss_weights
        self.seed, self.learning_rate = seed, learning_rate
        self.batch_size, self.shuffle_buffer = batch_size, shuffle_buffer
        self.execution = 0  # set by the tuner: executions of one trial start from different seeds
        self.total_steps: int | None = None  # set by AutoModel.fit once the data size is known
        self.feeds: Feeds | None = None  # set by AutoModel.fit: the data, frozen vectors computed on first need
        self.precision_policy: str | None = None  # set by AutoModel.fit: "mixed_float16" / "mixed_bfloat16"

    def build(self, hp):
        if self.feeds is not None and self.graph.reads_frozen(hp):
            self.feeds.feed()  # before `seeded`: the encoders' layers must not draw the trial's seeds
        return self.build_unfed(hp)

    def build_unfed(self, hp):
        """`build` without computing the frozen vectors (for looking at the hyperparameter space)."""
        # Initialisers, dropout and augmentation seeds, and tf.data shuffles made after this.
        with seeded(None if self.seed is None else self.seed + self.execution), precision(self.precision_policy):
            inner = self.graph.build(hp)
            mode = hp.Choice("loss_weighting", list(MODES)) if self.loss_weighting == "search" else self.loss_weighting
            rate = self.learning_rate or hp.Choice("learning_rate", [1e-2, 3e-3, 1e-3])
            model = MultiTaskModel(inner, self.graph.heads, LossWeighting(mode, self.loss_weights))
            model.compile(optimizer=training.optimizer(rate, self.total_steps))
            # Keras creates the optimizer's slots in the first traced train step, and a tf.function that
            # creates variables is traced twice: built here, every fit traces its train step once.
            model.optimizer.build(model.step_variables)
        return model

    def batches(self, examples: tf.data.Dataset) -> tf.data.Dataset:
        """Unbatched training examples → shuffled batches (seeded by `seed`)."""
        shuffled = examples.shuffle(self.shuffle_buffer, seed=self.seed, reshuffle_each_iteration=True)
        batched = shuffled.batch(self.batch_size)
        if self.feeds is not None:
            batched = batched.map(self.feeds.embedder.fill)
        return batched.prefetch(tf.data.AUTOTUNE)

    def fit(self, hp, model, x, *args, **kwargs):
        if self.feeds is not None:  # once computed, every trial reads the frozen vectors (not zeros)
            x, validation = self.feeds.swap(x, kwargs.get("validation_data"))
            if validation is not None:
                kwargs["validation_data"] = validation
        # Keras' own shuffle flag means nothing for tf.data; `batches` shuffles.
        return model.fit(self.batches(x), *args, shuffle=False, **kwargs)


@contextlib.contextmanager
def precision(policy: str | None):
    """Layers made inside compute in `policy` (None: the global policy, untouched); it is set for each build
    because keras-tuner clears the Keras session before every trial, and with it the global policy."""
    if policy is None:
        yield
        return
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
