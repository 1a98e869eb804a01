"""Multi-task loss weighting and the training step that applies it.

Modes:
- `"static"`: fixed weights (`loss_weights`, default 1 per head).
- `"uncertainty"`: learned homoscedastic uncertainty (Kendall et al., 2018):
  `sum(exp(-s_i) * L_i + s_i)` with one learned `s_i` per task.
- `"gradnorm"`: GradNorm (Chen et al., 2018): weights adapted so each task's
  gradient norm on the last shared layer tracks its relative training rate.
- `"search"`: the tuner picks one of the three per trial.

`MultiTaskModel` wraps the plain functional model for training only: it owns the
per-task losses, class weights, metrics and the combined objective
`combined_loss = sum_i w_i * L_i / baseline_i` (baseline: the loss of predicting
the training prior / mean), which compares trials whatever their weighting.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from components.errors import InputError

MODES = ("static", "uncertainty", "gradnorm")


class LossWeighting(keras.layers.Layer):
    """Combines per-task losses into the training loss."""

    def __init__(self, mode: str, weights: Sequence[float], alpha: float = 1.5, learning_rate: float = 0.025, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise InputError(f"loss_weighting={mode!r}; use one of {[*MODES, 'search']}.")
        self.mode = mode
        self.static = tf.constant(list(weights), "float32")
        self.count = len(weights)
        self.alpha, self.learning_rate = alpha, learning_rate
        if mode == "uncertainty":
            self.log_vars = self.add_weight(name="log_vars", shape=(self.count,), initializer="zeros")
        if mode == "gradnorm":
            self.task_weights = self.add_weight(
                name="task_weights",
                shape=(self.count,),
                trainable=False,
                initializer=keras.initializers.Constant(np.asarray(weights, "float32")),
                aggregation="mean",
            )
            self.initial_losses = self.add_weight(
                name="initial_losses", shape=(self.count,), trainable=False, initializer="zeros", aggregation="mean"
            )
        self.built = True

    def current_weights(self):
        if self.mode == "uncertainty":
            return self.static * tf.exp(-self.log_vars)
        if self.mode == "gradnorm":
            return tf.convert_to_tensor(self.task_weights)
        return self.static

    def combine(self, losses: list):
        stacked = tf.stack([tf.cast(loss, "float32") for loss in losses])
        total = tf.reduce_sum(self.current_weights() * stacked)
        if self.mode == "uncertainty":
            total += tf.reduce_sum(self.log_vars)
        return total

    def gradnorm_update(self, losses: list, grad_norms) -> None:
        """One GradNorm step on the task weights, from each task's gradient norm on the shared layer."""
        stacked = tf.stack([tf.cast(loss, "float32") for loss in losses])
        first = tf.reduce_all(tf.equal(self.initial_losses, 0.0))
        self.initial_losses.assign(tf.where(first, stacked, self.initial_losses))
        weights = tf.convert_to_tensor(self.task_weights)
        norms = weights * grad_norms
        ratios = stacked / tf.maximum(self.initial_losses, 1e-12)
        rates = ratios / tf.maximum(tf.reduce_mean(ratios), 1e-12)
        target = tf.stop_gradient(tf.reduce_mean(norms) * rates**self.alpha)
        # d/dw_i of sum |w_i g_i - target_i| is sign(w_i g_i - target_i) * g_i.
        step = tf.sign(norms - target) * grad_norms
        updated = tf.maximum(weights - self.learning_rate * step, 1e-3)
        updated = updated * (float(self.count) / tf.reduce_sum(updated))
        self.task_weights.assign(tf.where(tf.reduce_all(tf.math.is_finite(updated)), updated, weights))


class MultiTaskModel(keras.Model):
    """Training wrapper around the plain model: task losses, weighting, metrics, combined objective.

    `inner` stays a plain functional keras.Model; it is what gets exported.
    """

    def __init__(self, inner: keras.Model, heads: list, weighting: LossWeighting, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner
        self.weighting = weighting
        self.head_names = [h.name for h in heads]
        self.loss_fns = [h.loss_fn() for h in heads]
        self.baselines = tf.constant([h.baseline for h in heads], "float32")
        self.class_weight_tables = [
            tf.constant(h.class_weights) if getattr(h, "class_weights", None) is not None else None for h in heads
        ]
        self.binary = [bool(getattr(h, "binary", False)) for h in heads]
        self.heads = list(heads)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.combined_tracker = keras.metrics.Mean(name="combined_loss")
        self.task_trackers = [keras.metrics.Mean(name=f"{name}_loss") for name in self.head_names]
        self.task_metrics = [h.metric_objects() for h in heads]
        self.shared_variable = _last_shared_kernel(inner, self.head_names)
        self.built = True

    def call(self, x, training=False):
        outputs = self.inner(x, training=training)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return dict(zip(self.head_names, outputs))

    @property
    def metrics(self):
        flat = [m for group in self.task_metrics for m in group]
        return [self.loss_tracker, self.combined_tracker, *self.task_trackers, *flat]

    def _known(self, y) -> tuple[dict, dict]:
        """Targets with missing entries replaced by a harmless value, and each head's 0/1 row mask."""
        filled, masks = {}, {}
        for head in self.heads:
            target = y[head.name]
            mask = head.present_tensor(target)
            masks[head.name] = mask
            if getattr(head, "mask_missing", False):
                keep = tf.reshape(mask > 0, [-1] + [1] * (len(target.shape) - 1))
                target = tf.where(keep, target, tf.zeros_like(target))
            filled[head.name] = target
        return filled, masks

    def _task_losses(self, y, y_pred, masks) -> list:
        losses = []
        for name, loss_fn, table in zip(self.head_names, self.loss_fns, self.class_weight_tables):
            weights = masks[name]
            if table is not None:
                index = tf.cast(tf.reshape(y[name], [-1]), "int64")
                weights = weights * tf.gather(table, index)
            # Keras losses divide by the batch size; dividing by the known fraction makes that the mean
            # over rows that have a target. Braid's own losses already divide by the weights' sum.
            known = tf.maximum(tf.reduce_sum(masks[name]), 1.0) / tf.cast(tf.shape(masks[name])[0], "float32")
            loss = tf.cast(loss_fn(y[name], y_pred[name], sample_weight=weights), "float32")
            losses.append(loss / known if isinstance(loss_fn, keras.losses.Loss) else loss)
        return losses

    def _update(self, y, y_pred, losses, total, masks):
        batch = tf.shape(y_pred[self.head_names[0]])[0]
        stacked = tf.stack(losses)
        self.loss_tracker.update_state(total, sample_weight=batch)
        self.combined_tracker.update_state(
            tf.reduce_sum(self.weighting.static * stacked / self.baselines), sample_weight=batch
        )
        for name, tracker, loss, group in zip(self.head_names, self.task_trackers, losses, self.task_metrics):
            tracker.update_state(loss, sample_weight=batch)
            for metric in group:
                metric.update_state(y[name], y_pred[name], sample_weight=masks[name])
        return {m.name: m.result() for m in self.metrics}

    @property
    def step_variables(self) -> list:
        """The variables a train step updates."""
        variables = list(self.inner.trainable_variables)
        if self.weighting.mode == "uncertainty":
            variables.append(self.weighting.log_vars)
        return variables

    def train_step(self, data):
        x, (y, masks) = data[0], self._known(data[1])
        gradnorm = self.weighting.mode == "gradnorm" and self.shared_variable is not None
        with tf.GradientTape(persistent=gradnorm) as tape:
            y_pred = self(x, training=True)
            losses = self._task_losses(y, y_pred, masks)
            total = self.weighting.combine(losses)
            if self.inner.losses:
                total += tf.add_n([tf.cast(loss, "float32") for loss in self.inner.losses])
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled = self.optimizer.scale_loss(total / replicas)
        variables = self.step_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        if gradnorm:
            norms = []
            for loss in losses:
                grad = tape.gradient(loss, self.shared_variable)
                norms.append(tf.norm(tf.cast(grad, "float32")) if grad is not None else tf.constant(0.0))
            self.weighting.gradnorm_update(losses, tf.stack(norms))
            del tape
        return self._update(y, y_pred, losses, total, masks)

    def test_step(self, data):
        x, (y, masks) = data[0], self._known(data[1])
        y_pred = self(x, training=False)
        losses = self._task_losses(y, y_pred, masks)
        return self._update(y, y_pred, losses, self.weighting.combine(losses), masks)

    def predict_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        return self(x, training=False)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a distribution strategy Keras traces the model on the first batch averaged over the
        # replicas (`strategy.reduce("MEAN", ...)`), which fails on text inputs: there is no mean of
        # strings (AddN has no string kernel). The first replica's share of that batch traces it as well.
        if iterator is not None and self._distribute_strategy is not None:
            strategy = self._distribute_strategy
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda v: (
                        strategy.experimental_local_results(v)[0]
                        if isinstance(v, tf.distribute.DistributedValues)
                        else v
                    ),
                    next(batches),
                )
                break
            iterator = None
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


def _last_shared_kernel(inner: keras.Model, head_names: list[str]):
    """The kernel of the last Dense/Conv layer below the heads (GradNorm's 'last shared layer')."""
    head_layers = {f"{name}_dense" for name in head_names}
    shared = None
    for layer in inner.layers:
        kernel = getattr(layer, "kernel", None)
        if layer.name not in head_layers and kernel is not None and getattr(kernel, "trainable", False):
            shared = kernel
    return shared


def resolve_weights(head_names: list[str], loss_weights) -> list[float]:
    """`loss_weights` as a list (in head order) from None, a list, or a {head: weight} dict."""
    if loss_weights is None:
        return [1.0] * len(head_names)
    if isinstance(loss_weights, dict):
        unknown = set(loss_weights) - set(head_names)
        if unknown:
            raise InputError(f"loss_weights names unknown heads {sorted(unknown)}; heads are {head_names}.")
        return [float(loss_weights.get(name, 1.0)) for name in head_names]
    weights = [float(w) for w in loss_weights]
    if len(weights) != len(head_names):
        raise InputError(f"loss_weights has {len(weights)} values for {len(head_names)} heads {head_names}.")
    return weights
