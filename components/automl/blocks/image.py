"""Image blocks: Normalization, ImageAugmentation, ConvBlock, ResNetBlock, ImageBlock.

Everything is trained from scratch (no downloads); defaults stay small so a
search runs on a CPU.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from components.automl.blocks.general import Block, check_numeric
from components.automl.blocks.reduction import REDUCTIONS, default_order, spatial_reduction
from components.automl.nodes import InputNode
from components.errors import InputError


class Normalization(Block):
    """Standardise each channel/feature with mean and variance fitted on the training data.

    Args:
        axis: the feature axis (last by default).
    """

    accepts = ("image", "vector", "structured")
    passes_source = True

    def __init__(self, axis: int = -1, name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.axis = axis

    def output_kind(self, kinds):
        return "vector" if kinds[0] == "structured" else kinds[0]

    def build(self, hp, inputs, sources):
        x = inputs[0]
        check_numeric(x, self)
        source = sources[0]
        stats = source.stats if source is not None else {}
        if "mean" in stats and len(stats["mean"]) == x.shape[-1]:
            variance = np.maximum(np.square(np.asarray(stats["std"], dtype="float32")), 1e-6)
            return keras.layers.Normalization(
                axis=self.axis, mean=np.asarray(stats["mean"], dtype="float32"), variance=variance
            )(x)
        # Past a learned block there is no data-fitted statistic to use.
        return keras.layers.BatchNormalization(axis=self.axis)(x)


class ImageAugmentation(Block):
    """Random image augmentation, active only while training.

    Args:
        translation_factor: fraction of width/height; searched in {0, 0.1} when None.
        vertical_flip: flip vertically; False when None.
        horizontal_flip: flip horizontally; searched when None.
        rotation_factor: fraction of a full turn; searched in {0, 0.1} when None.
        zoom_factor: searched in {0, 0.1} when None.
        contrast_factor: searched in {0, 0.1} when None.
    """

    accepts = ("image",)
    passes_source = True

    def __init__(
        self,
        translation_factor: float | None = None,
        vertical_flip: bool | None = None,
        horizontal_flip: bool | None = None,
        rotation_factor: float | None = None,
        zoom_factor: float | None = None,
        contrast_factor: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        self.translation_factor, self.rotation_factor = translation_factor, rotation_factor
        self.vertical_flip, self.horizontal_flip = vertical_flip, horizontal_flip
        self.zoom_factor, self.contrast_factor = zoom_factor, contrast_factor

    def output_kind(self, kinds):
        return "image"

    def build(self, hp, inputs, sources):
        x = inputs[0]
        translation = self.choice(hp, "translation_factor", self.translation_factor, [0.0, 0.1])
        rotation = self.choice(hp, "rotation_factor", self.rotation_factor, [0.0, 0.1])
        zoom = self.choice(hp, "zoom_factor", self.zoom_factor, [0.0, 0.1])
        contrast = self.choice(hp, "contrast_factor", self.contrast_factor, [0.0, 0.1])
        horizontal = self.horizontal_flip
        if horizontal is None:
            horizontal = hp.Boolean(self.hp_name("horizontal_flip"), default=True)
        flip = ("horizontal" if horizontal else "") + ("_and_vertical" if self.vertical_flip and horizontal else "")
        if self.vertical_flip and not horizontal:
            flip = "vertical"
        if flip:
            x = keras.layers.RandomFlip(flip)(x)
        if translation:
            x = keras.layers.RandomTranslation(translation, translation)(x)
        if rotation:
            x = keras.layers.RandomRotation(rotation)(x)
        if zoom:
            x = keras.layers.RandomZoom(zoom, zoom)(x)
        if contrast:
            x = keras.layers.RandomContrast(contrast)(x)
        return x


class ConvBlock(Block):
    """Stacks of Conv2D layers with max pooling (the "vanilla" CNN).

    Args:
        kernel_size: searched in {3, 5} when None.
        num_blocks: conv+pool stages; searched in {1, 2} when None.
        num_layers: conv layers per stage; searched in {1, 2} when None.
        filters: filters of the first stage (doubled per stage); searched in {16, 32} when None.
        max_pooling: pool after each stage; True when None.
        separable: use SeparableConv2D; False when None.
        dropout: dropout after each stage; searched in {0, 0.25} when None.
        use_batchnorm: batch normalisation after each convolution; searched when None, off first
            (posters, 64 px: it raised genres micro-F1 but worsened the combined objective).
    """

    accepts = ("image",)

    def __init__(
        self,
        kernel_size: int | None = None,
        num_blocks: int | None = None,
        num_layers: int | None = None,
        filters: int | None = None,
        max_pooling: bool | None = None,
        separable: bool | None = None,
        dropout: float | None = None,
        use_batchnorm: bool | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        self.use_batchnorm = use_batchnorm
        self.kernel_size, self.num_blocks, self.num_layers = kernel_size, num_blocks, num_layers
        self.filters, self.max_pooling, self.separable, self.dropout = filters, max_pooling, separable, dropout

    def output_kind(self, kinds):
        return "image"

    def build(self, hp, inputs, sources):
        x = inputs[0]
        kernel = self.choice(hp, "kernel_size", self.kernel_size, [3, 5])
        num_blocks = self.choice(hp, "num_blocks", self.num_blocks, [2, 1])
        num_layers = self.choice(hp, "num_layers", self.num_layers, [1, 2])
        filters = self.choice(hp, "filters", self.filters, [16, 32])
        dropout = self.choice(hp, "dropout", self.dropout, [0.0, 0.25])
        conv = keras.layers.SeparableConv2D if self.separable else keras.layers.Conv2D
        batchnorm = self.use_batchnorm
        if batchnorm is None:
            batchnorm = hp.Boolean(self.hp_name("use_batchnorm"), default=False)
        # Large images: a strided first convolution keeps CPU cost in check.
        stride = 2 if min(x.shape[1], x.shape[2]) >= 64 else 1
        for stage in range(num_blocks):
            for layer in range(num_layers):
                first = stage == 0 and layer == 0
                x = conv(filters * 2**stage, kernel, strides=stride if first else 1, padding="same")(x)
                if batchnorm:
                    x = keras.layers.BatchNormalization()(x)
                x = keras.layers.ReLU()(x)
            if self.max_pooling is not False and min(x.shape[1], x.shape[2]) >= 2:
                x = keras.layers.MaxPooling2D(2)(x)
            if dropout:
                x = keras.layers.Dropout(dropout)(x)
        return x


class ResNetBlock(Block):
    """A small residual network built from scratch (never pretrained weights).

    Args:
        version: "v1" (post-activation) or "v2" (pre-activation); searched when None.
        pretrained: must be False; Braid never downloads weights.
        num_stages: residual stages (16, 32, 64 filters); searched in {2, 3} when None.
    """

    accepts = ("image",)

    def __init__(
        self,
        version: str | None = None,
        pretrained: bool | None = None,
        num_stages: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        if version not in (None, "v1", "v2"):
            raise InputError(f"ResNetBlock version={version!r}; use 'v1' or 'v2'.")
        if pretrained:
            raise InputError("ResNetBlock(pretrained=True) is not supported: Braid trains from scratch offline.")
        self.version, self.num_stages = version, num_stages

    def output_kind(self, kinds):
        return "image"

    def build(self, hp, inputs, sources):
        x = inputs[0]
        version = self.choice(hp, "version", self.version, ["v2", "v1"])
        num_stages = self.choice(hp, "num_stages", self.num_stages, [2, 3])
        stem_stride = 2 if min(x.shape[1], x.shape[2]) >= 64 else 1
        x = keras.layers.Conv2D(16, 3, strides=stem_stride, padding="same", use_bias=False)(x)
        if version == "v1":
            x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        for stage in range(num_stages):
            x = _residual_unit(x, 16 * 2**stage, stride=1 if stage == 0 else 2, pre_activation=version == "v2")
        if version == "v2":
            x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        return x


def _residual_unit(x, filters: int, stride: int, pre_activation: bool):
    conv = lambda f, k, s: keras.layers.Conv2D(f, k, strides=s, padding="same", use_bias=False)  # noqa: E731
    shortcut = x
    if pre_activation:
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        if stride != 1 or shortcut.shape[-1] != filters:
            shortcut = conv(filters, 1, stride)(x)
        x = conv(filters, 3, stride)(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        x = conv(filters, 3, 1)(x)
        return keras.layers.Add()([x, shortcut])
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = keras.layers.BatchNormalization()(conv(filters, 1, stride)(x))
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(conv(filters, 3, stride)(x)))
    x = keras.layers.BatchNormalization()(conv(filters, 3, 1)(x))
    return keras.layers.ReLU()(keras.layers.Add()([x, shortcut]))


class ImageBlock(Block):
    """Image encoder: optional normalisation and augmentation, then a CNN or a ResNet.

    Args:
        block_type: "vanilla" (ConvBlock) or "resnet"; searched when None.
        normalize: standardise pixels with training statistics; True when None.
        augment: add ImageAugmentation; searched when None (off in the first trial).
        reduction: how the feature map becomes a vector: "flatten", "global_avg" or "global_max";
            searched when None, global average first. Flattening keeps where things are, which an
            image-only model on small pictures needs, but on posters (64 px, beside text and a
            table) it scored worse than pooling at every head but one.
    """

    accepts = ("image",)

    def __init__(
        self,
        block_type: str | None = None,
        normalize: bool | None = None,
        augment: bool | None = None,
        reduction: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        if block_type not in (None, "vanilla", "resnet"):
            raise InputError(f"ImageBlock block_type={block_type!r}; use 'vanilla' or 'resnet'.")
        if reduction not in (None, *REDUCTIONS):
            raise InputError(f"ImageBlock reduction={reduction!r}; use one of {list(REDUCTIONS)}.")
        self.reduction = reduction
        self.block_type, self.normalize, self.augment = block_type, normalize, augment

    def output_kind(self, kinds):
        return "vector"

    def build(self, hp, inputs, sources: list[InputNode | None]):
        x = inputs[0]
        if self.normalize is not False:
            x = _child(Normalization, self, "normalization").build(hp, [x], sources)
        augment = self.augment
        if augment is None:
            augment = hp.Boolean(self.hp_name("augment"), default=False)
        if augment:
            x = _child(ImageAugmentation, self, "augmentation").build(hp, [x], sources)
        block_type = self.choice(hp, "block_type", self.block_type, ["vanilla", "resnet"])
        inner = ConvBlock if block_type == "vanilla" else ResNetBlock
        x = _child(inner, self, block_type).build(hp, [x], sources)
        order = default_order(x.shape)
        return spatial_reduction(x, self.choice(hp, "reduction", self.reduction, order))


def _child(cls, parent: Block, suffix: str) -> Block:
    child = cls()
    child.name = f"{parent.name}/{suffix}"
    return child
