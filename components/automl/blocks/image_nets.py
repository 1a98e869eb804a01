"""Image networks AutoKeras names: XceptionBlock and EfficientNetBlock, small and trained from scratch.

Both keep AutoKeras's arguments. `pretrained=True` is refused for now: pretrained encoders load
from local weight files, which Braid does not ship yet (and it never downloads at run time).
"""

from __future__ import annotations

from typing import Any

import keras

from components.automl.blocks.general import Block
from components.errors import InputError


def _refuse_pretrained(block: Block, pretrained: bool | None) -> None:
    if pretrained:
        raise InputError(
            f"{type(block).__name__}(pretrained=True) is not available yet: Braid has no local "
            "pretrained weights and downloads none. Use pretrained=False (trained from scratch)."
        )


def _stem_stride(x) -> int:
    return 2 if min(x.shape[1], x.shape[2]) >= 64 else 1


class XceptionBlock(Block):
    """An Xception-style network: depthwise-separable convolutions in residual stages.

    Args:
        pretrained: must be False for now (see the module docstring).
        num_stages: residual stages (32, 64, 128 filters); searched in {2, 3} when None.
    """

    accepts = ("image",)

    def __init__(
        self, pretrained: bool | None = None, num_stages: int | None = None, name: str | None = None, **kwargs: Any
    ):
        super().__init__(name=name, **kwargs)
        _refuse_pretrained(self, pretrained)
        self.num_stages = num_stages

    def output_kind(self, kinds):
        return "image"

    def build(self, hp, inputs, sources):
        x = inputs[0]
        num_stages = self.choice(hp, "num_stages", self.num_stages, [2, 3])
        x = keras.layers.Conv2D(16, 3, strides=_stem_stride(x), padding="same", use_bias=False)(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        for stage in range(num_stages):
            filters = 32 * 2**stage
            shortcut = keras.layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(x)
            for _ in range(2):
                x = keras.layers.ReLU()(x)
                x = keras.layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
                x = keras.layers.BatchNormalization()(x)
            x = keras.layers.MaxPooling2D(3, strides=2, padding="same")(x)
            x = keras.layers.Add()([x, keras.layers.BatchNormalization()(shortcut)])
        return keras.layers.ReLU()(x)


class EfficientNetBlock(Block):
    """An EfficientNet-style network: mobile inverted bottlenecks (MBConv) with squeeze-and-excitation.

    Args:
        version: "b0" .. "b7" scale the width and depth (b0 smallest); searched in {"b0", "b1"} when None.
        pretrained: must be False for now (see the module docstring).
        trainable: kept for AutoKeras compatibility (weights trained from scratch are always trainable).
    """

    accepts = ("image",)
    _scales = {f"b{i}": (1.0 + 0.1 * i, 1.0 + 0.2 * i) for i in range(8)}  # version → (width, depth)

    def __init__(
        self,
        version: str | None = None,
        pretrained: bool | None = None,
        trainable: bool | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        if version not in (None, *self._scales):
            raise InputError(f"EfficientNetBlock version={version!r}; use one of {list(self._scales)}.")
        _refuse_pretrained(self, pretrained)
        self.version = version

    def output_kind(self, kinds):
        return "image"

    def build(self, hp, inputs, sources):
        x = inputs[0]
        width, depth = self._scales[self.choice(hp, "version", self.version, ["b0", "b1"])]
        filters = lambda f: max(8, int(f * width + 4) // 8 * 8)  # noqa: E731
        x = keras.layers.Conv2D(filters(16), 3, strides=_stem_stride(x), padding="same", use_bias=False)(x)
        x = keras.layers.Activation("swish")(keras.layers.BatchNormalization()(x))
        for base, stride, repeats in ((16, 1, 1), (24, 2, 2), (40, 2, 2)):
            for i in range(max(1, round(repeats * depth))):
                x = _mbconv(x, filters(base), stride if i == 0 else 1)
        return x


def _mbconv(x, filters: int, stride: int, expand: int = 4):
    inputs, channels = x, x.shape[-1]
    x = keras.layers.Conv2D(channels * expand, 1, use_bias=False)(x)
    x = keras.layers.Activation("swish")(keras.layers.BatchNormalization()(x))
    x = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
    x = keras.layers.Activation("swish")(keras.layers.BatchNormalization()(x))
    squeeze = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
    squeeze = keras.layers.Conv2D(max(1, channels // 4), 1, activation="swish")(squeeze)
    squeeze = keras.layers.Conv2D(channels * expand, 1, activation="sigmoid")(squeeze)
    x = keras.layers.Multiply()([x, squeeze])
    x = keras.layers.BatchNormalization()(keras.layers.Conv2D(filters, 1, use_bias=False)(x))
    if stride == 1 and channels == filters:
        x = keras.layers.Add()([x, inputs])
    return x
