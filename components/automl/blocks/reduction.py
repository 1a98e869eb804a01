"""Reduction blocks (Flatten, SpatialReduction, TemporalReduction): a spatial `[B, H, W, C]` or sequence
`[B, T, C]` tensor to a feature vector.

"flatten" keeps where things are (a shallow CNN's map on a small image is a few cells wide, and an
image-only model needs the layout); "global_avg" / "global_max" pool over positions (large maps,
long sequences, or an image that is one weak modality among several: posters, see ImageBlock).
"""

from __future__ import annotations

from typing import Any

import keras

from components.automl.blocks.general import Block
from components.errors import InputError

REDUCTIONS = ("flatten", "global_avg", "global_max")
FLATTEN_LIMIT = 8192  # features a flattened map may have before pooling is the default


def spatial_reduction(x, kind: str):
    """`[B, H, W, C]` → `[B, features]`."""
    if kind == "flatten":
        return keras.layers.Flatten()(x)
    if kind == "global_avg":
        return keras.layers.GlobalAveragePooling2D()(x)
    if kind == "global_max":
        return keras.layers.GlobalMaxPooling2D()(x)
    raise InputError(f"reduction={kind!r}; use one of {list(REDUCTIONS)}.")


def default_order(shape) -> list[str]:
    """The searched reductions, best guess first: global average, and flatten last when the
    flattened map would be too wide to be worth trying early."""
    size = 1
    for dim in shape[1:]:
        size *= int(dim)
    if size <= FLATTEN_LIMIT:
        return ["global_avg", "flatten", "global_max"]
    return ["global_avg", "global_max", "flatten"]


class Flatten(Block):
    """Flatten any tensor to one feature vector per example (a no-op on vectors)."""

    def build(self, hp, inputs, sources):
        x = inputs[0]
        return keras.layers.Flatten()(x) if len(x.shape) > 2 else x


class SpatialReduction(Block):
    """Reduce an image-shaped tensor `(B, H, W, C)` to a vector.

    Args:
        reduction_type: "flatten", "global_max" or "global_avg"; searched when None.
    """

    accepts = ("image", "vector")
    _types = ("global_avg", "global_max", "flatten")

    def __init__(self, reduction_type: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if reduction_type not in (None, *self._types):
            raise InputError(
                f"{type(self).__name__} reduction_type={reduction_type!r}; use one of {list(self._types)}."
            )
        self.reduction_type = reduction_type

    def build(self, hp, inputs, sources):
        x = inputs[0]
        if len(x.shape) < 4:
            return x
        kind = self.choice(hp, "reduction_type", self.reduction_type, list(self._types))
        return spatial_reduction(x, kind)


class TemporalReduction(Block):
    """Reduce a sequence `(B, T, D)` to a vector.

    Args:
        reduction_type: "flatten", "global_max", "global_avg", "global_min" or "global_sum";
            searched when None.
    """

    accepts = ("vector",)
    _types = ("global_avg", "global_max", "global_min", "global_sum", "flatten")

    def __init__(self, reduction_type: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if reduction_type not in (None, *self._types):
            raise InputError(f"TemporalReduction reduction_type={reduction_type!r}; use one of {list(self._types)}.")
        self.reduction_type = reduction_type

    def build(self, hp, inputs, sources):
        x = inputs[0]
        if len(x.shape) != 3:
            return keras.layers.Flatten()(x) if len(x.shape) > 2 else x
        kind = self.choice(hp, "reduction_type", self.reduction_type, list(self._types))
        if kind == "flatten":
            return keras.layers.Flatten()(x)
        ops = {
            "global_avg": keras.ops.mean,
            "global_max": keras.ops.max,
            "global_min": keras.ops.min,
            "global_sum": keras.ops.sum,
        }
        return ops[kind](x, axis=1)
