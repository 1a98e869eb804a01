"""How a trial trains: the optimizer (Adam, gradient clipping, warmup + cosine learning-rate
schedule) sized to the trial's number of steps.

A few epochs on small data is Braid's usual budget: a short linear warmup keeps the first
updates of freshly initialised heads from blowing up, the cosine decay then anneals to a small
rate by the last epoch (the weights the search keeps are the best epoch's), and clipping the
gradient norm stops one bad batch from sending a trial to NaN.
"""

from __future__ import annotations

import math

import keras

CLIPNORM = 1.0
WARMUP_FRACTION = 0.1
FINAL_FRACTION = 0.05  # the rate ends at this fraction of the peak


def optimizer(rate: float, total_steps: int | None = None) -> keras.optimizers.Optimizer:
    """Adam with `clipnorm`; warmup + cosine decay over `total_steps` when they are known.

    Args:
        rate: the peak learning rate.
        total_steps: optimizer steps the trial will take at most (epochs x batches per epoch);
            a constant rate when None.
    """
    if not total_steps or total_steps < 10:
        return keras.optimizers.Adam(rate, clipnorm=CLIPNORM)
    warmup = max(1, int(total_steps * WARMUP_FRACTION))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=rate * 0.1,
        decay_steps=total_steps - warmup,
        alpha=FINAL_FRACTION,
        warmup_target=rate,
        warmup_steps=warmup,
    )
    return keras.optimizers.Adam(schedule, clipnorm=CLIPNORM)


def total_steps(rows: int, batch_size: int, epochs: int) -> int:
    """Optimizer steps of `epochs` passes over `rows` examples."""
    return epochs * max(1, math.ceil(rows / batch_size))
