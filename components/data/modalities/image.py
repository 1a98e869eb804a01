"""Image features: read (a path under the image root, or bytes), decode, RGB, resize, re-encode.

Shards store the resized image PNG-encoded (lossless, so the reader's `tf.io.decode_image` gives
exactly what `transform` gives for serving); a contract may ask for JPEG to save space with
`image_encoding: jpeg`. Decoding and resizing run on the context's executor: Pillow releases the
GIL while it decodes and resizes.
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from pydantic import PositiveInt

from components.data.images import ImageProblem, locate, normalized_root
from components.data.modalities import Codec, TransformContext, register
from components.data.spec import Encoder, EncodersField, FeatureSpec
from components.errors import DataError


def _source(value, root: str | None, column: str, row_id) -> bytes | str | None:
    """Where one cell's image comes from (`images.locate`), as a DataError that names the row."""
    try:
        return locate(value, root)
    except ImageProblem as problem:
        what = f"image path '{value}'" if isinstance(value, str) else "image bytes"
        raise DataError(f"row {row_id!r}, column '{column}': {what} {problem.reason}") from None


def _open_resized(source: bytes | str, size: tuple[int, int], column: str, row_id) -> Image.Image:
    height, width = size
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            # draft() lets the JPEG decoder downscale while decoding: far less work for big photos.
            img.draft("RGB", (width, height))
            img = img.convert("RGB")
            return img.resize((width, height), Image.Resampling.BILINEAR) if img.size != (width, height) else img
    except FileNotFoundError:
        raise DataError(f"row {row_id!r}, column '{column}': image file {source} does not exist") from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        where = source if isinstance(source, str) else f"{len(source)} bytes"
        raise DataError(f"row {row_id!r}, column '{column}': cannot decode image {where}: {exc}") from None


def encode_image(img: Image.Image, encoding: str) -> bytes:
    buffer = io.BytesIO()
    if encoding == "jpeg":
        img.save(buffer, format="JPEG", quality=90)
    else:
        # Level 1: nearly the size of level 6 on small images, several times faster to write.
        img.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _load_chunk(jobs: list[tuple]) -> list:
    """Decode (and re-encode, when `encoding` is set) one chunk of images; runs on a worker."""
    out = []
    for value, root, size, column, row_id, encoding in jobs:
        source = _source(value, root, column, row_id)
        if source is None:
            img = Image.new("RGB", (size[1], size[0]))
        else:
            img = _open_resized(source, size, column, row_id)
        out.append(encode_image(img, encoding) if encoding else np.asarray(img, dtype=np.uint8))
    return out


def _run(ctx: TransformContext, jobs: list) -> list:
    """Decode jobs in chunks on the executor: one task per chunk keeps per-task overhead small."""
    if ctx.executor is None or len(jobs) < 2:
        return _load_chunk(jobs)
    size = max(1, min(128, len(jobs) // 8))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    return [out for chunk in ctx.executor.map(_load_chunk, chunks) for out in chunk]


class ImageFeature(FeatureSpec):
    """An image column: a path under the image root, or encoded bytes."""

    modality: Literal["image"] = "image"
    image_size: tuple[PositiveInt, PositiveInt] = (64, 64)  # (height, width) the image is resized to
    image_encoding: Literal["png", "jpeg"] = "png"  # how resized images are stored in the shards
    encoders: list[Encoder] = EncodersField  # pretrained first: the strong choice


@register
class ImageModality(Codec):
    """Its own x key (the feature's name): uint8 [height, width, 3]."""

    name = "image"
    options = ImageFeature
    slot = "image"

    def _jobs(self, spec, values: pd.Series, ctx: TransformContext, encoding: str | None) -> list[tuple]:
        root = normalized_root(ctx.image_root)
        size = tuple(spec.image_size)
        empty = int(pd.isna(values).sum())
        if empty:
            ctx.issues[f"{spec.name}: empty image cell (zeros used)"] += empty
        return [
            (value, root, size, spec.name, ctx.row_id(i), encoding) for i, value in enumerate(values.astype(object))
        ]

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        height, width = spec.image_size
        images = _run(ctx, self._jobs(spec, values, ctx, None))
        return np.stack(images) if images else np.zeros((0, height, width, 3), np.uint8)

    def encode(self, spec, fitted, values, ctx: TransformContext) -> list[bytes]:
        return _run(ctx, self._jobs(spec, values, ctx, spec.image_encoding))

    def tf_feature(self, stored):
        import tensorflow as tf

        if isinstance(stored, np.ndarray):  # a transformed image rather than encoded bytes
            stored = encode_image(Image.fromarray(stored), "png")
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[stored]))

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([], tf.string)

    def decode(self, spec, fitted, tensor):
        import tensorflow as tf

        image = tf.io.decode_image(tensor, channels=3, dtype=tf.uint8, expand_animations=False)
        image.set_shape([*spec.image_size, 3])
        return image

    def decode_batch(self, spec, fitted, tensor):
        import tensorflow as tf

        return tf.map_fn(
            lambda one: self.decode(spec, fitted, one), tensor,
            fn_output_signature=self.tensor_spec(spec, fitted), parallel_iterations=16,
        )  # fmt: skip

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([*spec.image_size, 3], tf.uint8)

    def parquet_columns(self, spec, fitted, transformed):
        return {}  # images live in the TFRecord shards only
