"""EfficientNet-Lite0 image features: a Keras model for inside Braid models, and frozen-mode `embed_images`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Sequence

import numpy as np

from components.encoders.registry import require
from components.errors import InputError

NAME = "efficientnet_lite0"
DIM = 1280
# The network halves the resolution five times: below 32 pixels its last feature map is one pixel of padding, and
# small images gain from more: a linear probe on the features of 8x8 digits / 28x28 MNIST upscaled to 32, 64 and
# 96 pixels scored 0.856 / 0.936 / 0.969 and 0.777 / 0.926 / 0.927 accuracy; 96 embeds 2.4x slower than 64.
MIN_SIDE = 64


def image_encoder(
    image_size: tuple[int | None, int | None] = (224, 224),
    trainable_blocks: int = 0,
    include_top: bool = False,
    home: Path | None = None,
):
    """Build EfficientNet-Lite0 with its ImageNet weights: RGB pixels [B, H, W, 3] -> features [B, 1280].

    Pixels are uint8 or float in [0, 255]; the model scales them itself (as the reference did in
    training), so it can be served on raw images. The first call per Braid home converts the packaged
    PyTorch weights (needs torch) and caches them; later calls read the cache.

    Args:
        image_size: (height, width) the model takes; `None` entries accept any size. ImageNet training used
            224x224; smaller inputs are faster and give coarser features.
        trainable_blocks: How many of the 16 MBConv blocks, counted from the top, may be trained with the
            head conv (fine-tune mode); 0 freezes everything, 16 or more also frees the stem. Frozen
            batch-norm layers keep their ImageNet statistics (Keras runs them in inference mode).
        include_top: Output the 1000 ImageNet logits instead of the pooled features.
        home: Braid's home directory for the weight cache (default `$BRAID_HOME` or `./.braid`).

    Returns:
        A `keras.Model` named `efficientnet_lite0`.
    """
    require(NAME)
    if not isinstance(trainable_blocks, int) or trainable_blocks < 0:
        raise InputError(f"trainable_blocks must be a non-negative integer, got {trainable_blocks!r}")
    from components.encoders.convert import ensure_weights, load_weights
    from components.encoders.efficientnet_lite import efficientnet_lite0

    model = efficientnet_lite0(image_size=tuple(image_size), include_top=include_top)
    load_weights(model, ensure_weights(home))
    _unfreeze_top(model, trainable_blocks)
    return model


def _unfreeze_top(model, trainable_blocks: int) -> None:
    from components.encoders.efficientnet_lite import lite0_blocks

    frozen_below = len(lite0_blocks()) - trainable_blocks
    for layer in model.layers:
        if layer.name.startswith("block"):
            layer.trainable = int(layer.name[len("block") :].split("_", 1)[0]) >= frozen_below
        elif layer.name.startswith("stem"):
            layer.trainable = frozen_below <= 0
        else:
            layer.trainable = trainable_blocks > 0


@functools.lru_cache(maxsize=4)
def _frozen_encoder(image_size: tuple[int, int], home: Path | None):
    # Building and filling the network takes a second or two; a process embeds many batches with one.
    return image_encoder(image_size=image_size, trainable_blocks=0, home=home)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """One image as float32 RGB [H, W, 3] in [0, 255]: grayscale is repeated, alpha is composited on white.

    Args:
        image: [H, W] or [H, W, 1] grayscale, [H, W, 3] RGB or [H, W, 4] RGBA; uint8 or float in [0, 255].
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise InputError(f"an image must be [H, W], [H, W, 1], [H, W, 3] or [H, W, 4]; got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"an image has no pixels (shape {array.shape})")
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(f"image pixels must be numbers, got dtype {array.dtype}")
    array = array.astype(np.float32)
    if array.shape[-1] == 1:
        return np.repeat(array, 3, axis=-1)
    if array.shape[-1] == 4:
        alpha = array[..., 3:] / 255.0
        return array[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return array


def _target_size(images: list[np.ndarray], image_size: tuple[int, int] | None) -> tuple[int, int]:
    if image_size is not None:
        height, width = image_size
        if height < 1 or width < 1:
            raise InputError(f"image_size must be two positive integers, got {image_size!r}")
        return int(height), int(width)
    sizes = {image.shape[:2] for image in images}
    if len(sizes) > 1:
        raise InputError(f"images have different sizes ({sorted(sizes)[:3]}...); pass image_size=(H, W)")
    height, width = sizes.pop()
    return max(height, MIN_SIDE), max(width, MIN_SIDE)


def embed_images(
    images: np.ndarray | Sequence[np.ndarray],
    batch_size: int = 64,
    image_size: tuple[int, int] | None = None,
    home: Path | None = None,
) -> np.ndarray:
    """Frozen-mode image features from EfficientNet-Lite0: batched and deterministic.

    Grayscale images are repeated to RGB, alpha is composited on white, and every image is resized
    (bilinear, antialiased) to `image_size`. By default that is the images' own size, raised to at least
    64 pixels a side (`MIN_SIDE`): small images give much better features upscaled.

    Args:
        images: uint8 (or float in [0, 255]) array [N, H, W], [N, H, W, 1|3|4], or a list of such images.
        batch_size: Images per forward pass.
        image_size: (height, width) the network sees; needed when images differ in size.
        home: Braid's home directory for the weight cache.

    Returns:
        float32 array [N, 1280] of pooled features (non-negative: they follow a ReLU6).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(images, np.ndarray) and images.ndim not in (3, 4):
        raise InputError(f"images must be a batch [N, H, W] or [N, H, W, C], got an array of shape {images.shape}")
    batch = list(images)
    if not batch:
        return np.zeros((0, DIM), dtype=np.float32)
    rgb = []
    for index, image in enumerate(batch):
        try:
            rgb.append(to_rgb(image))
        except InputError as exc:
            raise InputError(f"images[{index}]: {exc}") from None
    size = _target_size(rgb, image_size)
    import tensorflow as tf

    model = _frozen_encoder(size, home)
    features = []
    for start in range(0, len(rgb), batch_size):
        chunk = rgb[start : start + batch_size]
        if all(image.shape[:2] == size for image in chunk):
            pixels = np.stack(chunk)
        else:
            pixels = np.stack([tf.image.resize(image, size, antialias=True).numpy() for image in chunk])
        features.append(np.asarray(model.predict_on_batch(np.clip(pixels, 0.0, 255.0)), dtype=np.float32))
    return np.concatenate(features)
