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
from components.data.media import is_url
from components.data.modalities.base import Codec, TransformContext, run_chunks
from components.data.spec import Encoder, EncodersField, FeatureSpec
from components.features.registry import MODALITIES


class _Unusable(Exception):
    """One cell's image cannot be used; the message says why (and names the cell as sent, not a server path)."""


def _open_resized(value, root: str | None, size: tuple[int, int]) -> Image.Image:
    """One cell's image, RGB, resized to `size` (black for an empty cell)."""
    height, width = size
    inline = isinstance(value, (bytes, bytearray, memoryview, dict)) or str(value).startswith("data:")
    what = "image bytes" if inline else f"image {'URL' if is_url(value) else 'path'} '{value}'"
    try:
        source = locate(value, root)
    except ImageProblem as problem:
        raise _Unusable(f"{what} {problem.reason}") from None
    if source is None:
        return Image.new("RGB", (width, height))
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            # Pillow only refuses images over twice MAX_IMAGE_PIXELS; between once and twice it warns and
            # decodes them whole: a small PNG of zeros could take gigabytes of a serving worker.
            if img.width * img.height > (Image.MAX_IMAGE_PIXELS or float("inf")):
                raise _Unusable(
                    f"{what} is {img.width}x{img.height} pixels, over the {Image.MAX_IMAGE_PIXELS:,} pixels "
                    "decoded at most (a decompression bomb?); send a smaller image"
                )
            # draft() lets the JPEG decoder downscale while decoding: far less work for big photos.
            img.draft("RGB", (width, height))
            img = img.convert("RGB")
            return img.resize((width, height), Image.Resampling.BILINEAR) if img.size != (width, height) else img
    except FileNotFoundError:
        raise _Unusable(f"{what} does not exist") from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise _Unusable(f"cannot decode {what}: {exc}") from None


def encode_image(img: Image.Image, encoding: str) -> bytes:
    buffer = io.BytesIO()
    if encoding == "jpeg":
        img.save(buffer, format="JPEG", quality=90)
    else:
        # Level 1: nearly the size of level 6 on small images, several times faster to write.
        img.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _load_chunk(jobs: list[tuple]) -> list[tuple]:
    """Decode (and re-encode, when `encoding` is set) one chunk of images; runs on a worker. Gives
    (image, None), or (a black image, why) for a cell that cannot be used, so one pass finds every such row."""
    out = []
    for value, root, size, encoding in jobs:
        try:
            img, problem = _open_resized(value, root, size), None
        except _Unusable as exc:
            img, problem = Image.new("RGB", (size[1], size[0])), str(exc)
        out.append((encode_image(img, encoding) if encoding else np.asarray(img, dtype=np.uint8), problem))
    return out


class ImageFeature(FeatureSpec):
    """An image column: a path under the image root, or encoded bytes."""

    modality: Literal["image"] = "image"
    image_size: tuple[PositiveInt, PositiveInt] = (64, 64)  # (height, width) the image is resized to
    image_encoding: Literal["png", "jpeg"] = "png"  # how resized images are stored in the shards
    encoders: list[Encoder] = EncodersField  # pretrained first: the strong choice


@MODALITIES.register
class ImageModality(Codec):
    """Its own x key (the feature's name): uint8 [height, width, 3]."""

    name = "image"
    options = ImageFeature
    slot = "image"
    library_input = "ImageInput"

    def library_block(self, spec) -> tuple[str, dict]:
        return "ImageBlock", {}

    def _images(self, spec, values: pd.Series, ctx: TransformContext, encoding: str | None) -> list:
        root = normalized_root(ctx.image_root)
        size = tuple(spec.image_size)
        empty = int(pd.isna(values).sum())
        if empty:
            ctx.issues[f"{spec.name}: empty image cell (zeros used)"] += empty
        done = run_chunks(ctx, _load_chunk, [(value, root, size, encoding) for value in values.astype(object)])
        for position, (_, problem) in enumerate(done):
            if problem is not None:
                ctx.reject(position, spec.name, problem)
        return [image for image, _ in done]

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        height, width = spec.image_size
        images = self._images(spec, values, ctx, None)
        return np.stack(images) if images else np.zeros((0, height, width, 3), np.uint8)

    def encode(self, spec, fitted, values, ctx: TransformContext) -> list[bytes]:
        return self._images(spec, values, ctx, spec.image_encoding)

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
