"""Time-series blocks: TimeseriesBlock (a searched 1-D CNN, recurrent layers or a small transformer
encoder over padded series), and the layers it builds on.

A series comes in as `[B, T, C]` with NaN wherever there is no value (`components.features.timeseries`).
`SeriesScaling` standardises each channel and turns NaN into 0; a step without any value is masked: the
CNN's and the transformer's pooling skip it, the recurrent layers (RNNBlock) read the Keras mask and
step over it, the transformer's attention ignores it.
"""

from __future__ import annotations

from typing import Any

import keras

from components.automl.blocks.general import Block
from components.automl.blocks.sequence import RNNBlock
from components.automl.blocks.text import PositionEmbedding
from components.errors import InputError

BLOCK_TYPES = ("cnn", "rnn", "transformer")


@keras.saving.register_keras_serializable(package="braid")
class SeriesScaling(keras.layers.Layer):
    """`[B, T, C]` with NaN where no value → each channel standardised, NaN as 0.

    Args:
        mean, std: per channel, from the training series.
        mask_steps: give the output a step mask as its Keras mask, for layers that read one (recurrent
            layers; the others would drop it with a warning): every step up to the series' last step
            with a value, and always the first. cuDNN's recurrent kernels take only such masks
            (right-padded, none empty); a step inside the series without any value reads as zeros.
    """

    def __init__(self, mean: list[float], std: list[float], mask_steps: bool = False, **kwargs: Any):
        # float32 even under a mixed precision policy: raw readings above float16's 65,504 would
        # otherwise become inf, and inf reads as a missing value.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.mean, self.std, self.mask_steps = list(mean), list(std), mask_steps

    def call(self, x):
        present = keras.ops.isfinite(x)
        scaled = (keras.ops.where(present, x, 0.0) - keras.ops.convert_to_tensor(self.mean, x.dtype)) / (
            keras.ops.convert_to_tensor(self.std, x.dtype)
        )
        return keras.ops.where(present, scaled, 0.0)

    def compute_mask(self, x, mask=None):
        if not self.mask_steps:
            return None
        steps = keras.ops.arange(keras.ops.shape(x)[1])
        present = keras.ops.any(keras.ops.isfinite(x), axis=-1)
        last = keras.ops.max(keras.ops.where(present, steps[None, :], 0), axis=1)
        return keras.ops.less_equal(steps[None, :], last[:, None])

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std, "mask_steps": self.mask_steps}


@keras.saving.register_keras_serializable(package="braid")
class MaskedPooling(keras.layers.Layer):
    """`[B, T, D]` and a step mask `[B, T]` → the mean and the max over the kept steps, `[B, 2D]`
    (zeros for a series without any step)."""

    def call(self, inputs):
        x, mask = inputs
        keep = keras.ops.cast(mask, x.dtype)[..., None]
        count = keras.ops.maximum(keras.ops.sum(keep, axis=1), 1.0)
        mean = keras.ops.sum(x * keep, axis=1) / count
        lowest = keras.ops.min(x, axis=1, keepdims=True) - 1.0
        peak = keras.ops.max(keras.ops.where(keep > 0, x, lowest), axis=1)
        return keras.ops.concatenate([mean, peak * keras.ops.minimum(count, 1.0)], axis=-1)


class TimeseriesBlock(Block):
    """Padded series → a feature vector, by a searched encoder.

    "cnn": Conv1D layers with padded steps kept at zero, then the masked mean and max over steps;
    "rnn": a projection then `RNNBlock` (LSTM/GRU, maybe bidirectional), which skips masked steps and
    gives its final state; "transformer": a projection, learned positions, self-attention encoder
    layers that ignore masked steps, then the masked mean and max.

    Args:
        block_type: "cnn", "rnn" or "transformer"; searched when None (CNN first: fastest on a CPU).
        num_layers: convolution or encoder layers; searched in {2, 3} (CNN) or {1, 2} (transformer) when None.
        units: width of the projection, convolutions and attention; searched in {64, 32} when None.
        dropout: dropout on the output vector; searched in {0, 0.25} when None.
    """

    accepts = ("timeseries",)

    def __init__(
        self,
        block_type: str | None = None,
        num_layers: int | None = None,
        units: int | None = None,
        dropout: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        if block_type not in (None, *BLOCK_TYPES):
            raise InputError(f"TimeseriesBlock block_type={block_type!r}; use one of {list(BLOCK_TYPES)}.")
        self.block_type, self.num_layers, self.units, self.dropout = block_type, num_layers, units, dropout

    def build(self, hp, inputs, sources):
        source = sources[0]
        if source is None or "mean" not in source.stats:
            raise InputError(f"TimeseriesBlock {self.name} must be fed directly by a TimeseriesInput.")
        raw = inputs[0]
        mask = keras.ops.any(keras.ops.isfinite(raw), axis=-1)
        block_type = self.choice(hp, "block_type", self.block_type, list(BLOCK_TYPES))
        x = SeriesScaling(source.stats["mean"], source.stats["std"], mask_steps=block_type == "rnn")(raw)
        units = self.choice(hp, "units", self.units, [64, 32])
        dropout = self.choice(hp, "dropout", self.dropout, [0.0, 0.25])
        if block_type == "cnn":
            keep = keras.ops.cast(mask, x.dtype)[..., None]
            for _ in range(self.choice(hp, "cnn_layers", self.num_layers, [2, 3])):
                x = keras.layers.Conv1D(units, 5, padding="same", activation="relu")(x) * keep
            x = MaskedPooling()([x, mask])
        elif block_type == "rnn":
            rnn = RNNBlock(name=f"{self.name}/rnn")
            x = rnn.build(hp, [keras.layers.Dense(units)(x)], [None])
        else:
            x = PositionEmbedding(int(raw.shape[1]))(keras.layers.Dense(units)(x))
            attend = mask[:, None, :]
            for _ in range(self.choice(hp, "transformer_layers", self.num_layers, [1, 2])):
                attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=units // 2)(
                    x, x, attention_mask=attend
                )
                x = keras.layers.LayerNormalization()(x + attention)
                feed = keras.layers.Dense(units)(keras.layers.Dense(units * 2, activation="relu")(x))
                x = keras.layers.LayerNormalization()(x + feed)
            x = MaskedPooling()([x, mask])
        return keras.layers.Dropout(dropout)(x) if dropout else x
