"""EfficientNet-Lite0 in plain Keras layers, named so ported weights find their place.

Lite differs from EfficientNet-B0 in three ways that matter here: ReLU6 instead of swish, no
squeeze-and-excitation, and a stem (32 filters) and head (1280) that are not scaled. Padding is
TensorFlow's "same" (the weights come from the TF reference checkpoint), batch-norm epsilon 1e-3.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from components.encoders.layers import PixelScaling

STEM_FILTERS = 32
HEAD_FILTERS = 1280
BN_EPSILON = 1e-3
NUM_CLASSES = 1000


@dataclass(frozen=True)
class Stage:
    """One stage of MBConv blocks: `repeats` blocks, the first with `stride`."""

    expand_ratio: int
    filters: int
    repeats: int
    stride: int
    kernel_size: int


LITE0_STAGES = (
    Stage(1, 16, 1, 1, 3),
    Stage(6, 24, 2, 2, 3),
    Stage(6, 40, 2, 2, 5),
    Stage(6, 80, 3, 2, 3),
    Stage(6, 112, 3, 1, 5),
    Stage(6, 192, 4, 2, 5),
    Stage(6, 320, 1, 1, 3),
)


@dataclass(frozen=True)
class Block:
    """One MBConv block as built: its index (the `_blocks.N` of the PyTorch state dict) and shape."""

    index: int
    filters_in: int
    filters_out: int
    expand_ratio: int
    stride: int
    kernel_size: int

    @property
    def has_skip(self) -> bool:
        return self.stride == 1 and self.filters_in == self.filters_out


def lite0_blocks() -> list[Block]:
    """The 16 MBConv blocks of EfficientNet-Lite0, in order."""
    blocks, filters_in = [], STEM_FILTERS
    for stage in LITE0_STAGES:
        for repeat in range(stage.repeats):
            stride = stage.stride if repeat == 0 else 1
            blocks.append(Block(len(blocks), filters_in, stage.filters, stage.expand_ratio, stride, stage.kernel_size))
            filters_in = stage.filters
    return blocks


def _conv_bn(x, filters: int, kernel_size: int, stride: int, prefix: str, activation: bool):
    x = keras.layers.Conv2D(
        filters, kernel_size, strides=stride, padding="same", use_bias=False, name=f"{prefix}_conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_bn")(x)
    return keras.layers.ReLU(max_value=6.0, name=f"{prefix}_relu6")(x) if activation else x


def _mbconv(x, block: Block):
    prefix = f"block{block.index}"
    inputs = x
    if block.expand_ratio != 1:
        x = _conv_bn(x, block.filters_in * block.expand_ratio, 1, 1, f"{prefix}_expand", activation=True)
    x = keras.layers.DepthwiseConv2D(
        block.kernel_size, strides=block.stride, padding="same", use_bias=False, name=f"{prefix}_dw_conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_dw_bn")(x)
    x = keras.layers.ReLU(max_value=6.0, name=f"{prefix}_dw_relu6")(x)
    x = _conv_bn(x, block.filters_out, 1, 1, f"{prefix}_project", activation=False)
    if block.has_skip:
        x = keras.layers.Add(name=f"{prefix}_add")([inputs, x])
    return x


def efficientnet_lite0(
    image_size: tuple[int | None, int | None] = (224, 224), include_top: bool = False, name: str = "efficientnet_lite0"
) -> keras.Model:
    """EfficientNet-Lite0 with random weights: pixels [B, H, W, 3] in [0, 255] -> pooled features [B, 1280].

    Args:
        image_size: (height, width) of the input; `None` entries accept any size.
        include_top: Add the 1000-way ImageNet classifier (`logits`) after pooling.
        name: The model's name.

    Returns:
        An unbuilt-weights `keras.Model`; `load_lite0_weights` fills it.
    """
    pixels = keras.Input(shape=(*image_size, 3), name="image")
    x = PixelScaling(127.0, 128.0, name="pixel_scaling")(pixels)
    x = _conv_bn(x, STEM_FILTERS, 3, 2, "stem", activation=True)
    for block in lite0_blocks():
        x = _mbconv(x, block)
    x = _conv_bn(x, HEAD_FILTERS, 1, 1, "head", activation=True)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = keras.layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(pixels, x, name=name)
