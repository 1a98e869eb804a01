"""Reducing a spatial `[B, H, W, C]` or sequence `[B, T, C]` tensor to a feature vector.

"flatten" keeps where things are (a shallow CNN's map on a small image is a few cells wide, and an
image-only model needs the layout); "global_avg" / "global_max" pool over positions (large maps,
long sequences, or an image that is one weak modality among several: posters, see ImageBlock).
"""

from __future__ import annotations

import keras

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


def temporal_reduction(x, kind: str):
    """`[B, T, C]` → `[B, features]`."""
    if kind == "flatten":
        return keras.layers.Flatten()(x)
    if kind == "global_avg":
        return keras.layers.GlobalAveragePooling1D()(x)
    if kind == "global_max":
        return keras.layers.GlobalMaxPooling1D()(x)
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
