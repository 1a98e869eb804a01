"""Audio features: read (a path under the media root, bytes, a data URI, a URL), decode, mono, one
sample rate, one length.

A cell comes from where an image cell comes from (`components.data.images.locate`); its bytes are
decoded by `components.features.audio` (soundfile: WAV, FLAC, OGG), mixed to mono, resampled to the
contract's `sample_rate` and cropped to its first `max_seconds` or padded with silence. Shards store the
waveform as int16 bytes (half of float32; the served transform quantises the same way, so serving
gives the model exactly what training read). The model gets float32 `[sample_rate * max_seconds]`
and computes its log-mel frames itself (`components.automl.blocks.audio`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from components.data.images import ImageProblem, locate, normalized_root
from components.data.media import is_url
from components.data.modalities.base import Codec, TransformContext, run_chunks
from components.data.spec import FeatureSpec
from components.features.audio import (
    DEFAULT_SAMPLE_RATE,
    AudioProblem,
    Clip,
    decode_audio,
    dequantized,
    quantized,
    waveform,
)
from components.features.registry import MODALITIES


class AudioFeature(FeatureSpec):
    """An audio column: a path under the media root (`source.image_root`), encoded bytes, a
    `data:audio/...;base64,` URI or a URL; WAV, FLAC or OGG."""

    modality: Literal["audio"] = "audio"
    sample_rate: int = Field(DEFAULT_SAMPLE_RATE, ge=1000, le=192_000)  # Hz every clip is resampled to
    max_seconds: float = Field(2.0, gt=0, le=600)  # longer clips are cropped, shorter ones padded with silence
    # Validation: a clip at another rate, with more channels or longer is a bad row (None: any; resampled,
    # mixed to mono, cropped); a silent clip (below -60 dBFS) is one unless allow_silence.
    expect_sample_rate: int | None = Field(None, ge=1000, le=192_000)
    max_channels: int | None = Field(None, ge=1)
    reject_longer_than: float | None = Field(None, gt=0)
    allow_silence: bool = False

    @property
    def length(self) -> int:
        """Samples the model reads."""
        return round(self.sample_rate * self.max_seconds)


def read_clip(cell, root: str | None) -> Clip | None:
    """One cell's clip (None for an empty cell).

    Raises:
        AudioProblem: the cell names no usable file (outside the root, missing, not fetched) or its bytes
            do not decode; the message names the cell as sent, not a server path.
    """
    inline = isinstance(cell, (bytes, bytearray, memoryview, dict)) or str(cell).startswith("data:")
    what = "audio bytes" if inline else f"audio {'URL' if is_url(cell) else 'path'} '{cell}'"
    try:
        source = locate(cell, root)
    except ImageProblem as problem:
        raise AudioProblem(problem.check.replace("image_", "audio_", 1), f"{what} {problem.reason}") from None
    if source is None:
        return None
    try:
        return decode_audio(source)
    except AudioProblem as problem:
        raise AudioProblem(problem.check, f"{what}: {problem.reason}") from None


def _load_chunk(jobs: list[tuple]) -> list[tuple]:
    """Read one chunk of cells into int16 waveforms; runs on a worker. Gives (waveform, None), or (silence,
    why) for a cell that cannot be used, so one pass finds every such row."""
    out = []
    for cell, root, rate, length in jobs:
        try:
            clip = read_clip(cell, root)
            wave = waveform(clip, rate, length) if clip is not None else np.zeros(length, "float32")
            out.append((quantized(wave), None))
        except AudioProblem as problem:
            out.append((np.zeros(length, "int16"), problem.reason))
    return out


@MODALITIES.register
class AudioModality(Codec):
    """Its own x key (the feature's name): float32 [sample_rate * max_seconds], mono, in [-1, 1]."""

    name = "audio"
    options = AudioFeature
    slot = "audio"
    blank = None  # no clip: silence
    library_input = "AudioInput"

    def library_input_options(self, spec) -> dict:
        return {"sample_rate": spec.sample_rate, "max_seconds": spec.max_seconds}

    def library_block(self, spec) -> tuple[str, dict]:
        return "AudioBlock", {}

    def _waves(self, spec, values: pd.Series, ctx: TransformContext) -> list[np.ndarray]:
        empty = int(pd.isna(values).sum())
        if empty:
            ctx.issues[f"{spec.name}: empty audio cell (silence used)"] += empty
        root = normalized_root(ctx.image_root)
        jobs = [(cell, root, spec.sample_rate, spec.length) for cell in values.astype(object)]
        done = run_chunks(ctx, _load_chunk, jobs)
        for position, (_, problem) in enumerate(done):
            if problem is not None:
                ctx.reject(position, spec.name, problem)
        return [wave for wave, _ in done]

    def transform(self, spec, fitted, values, ctx: TransformContext) -> np.ndarray:
        waves = self._waves(spec, values, ctx)
        return dequantized(np.stack(waves)) if waves else np.zeros((0, spec.length), np.float32)

    def encode(self, spec, fitted, values, ctx: TransformContext) -> list[bytes]:
        return [wave.tobytes() for wave in self._waves(spec, values, ctx)]

    def tf_feature(self, stored):
        import tensorflow as tf

        if isinstance(stored, np.ndarray):  # a transformed waveform rather than stored bytes
            stored = quantized(stored).tobytes()
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[stored]))

    def parse_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.io.FixedLenFeature([], tf.string)

    def decode(self, spec, fitted, tensor):
        import tensorflow as tf

        wave = tf.cast(tf.io.decode_raw(tensor, tf.int16, little_endian=True), tf.float32) / 32767.0
        return tf.ensure_shape(wave, [spec.length])

    def decode_batch(self, spec, fitted, tensor):
        import tensorflow as tf

        wave = tf.cast(tf.io.decode_raw(tensor, tf.int16, little_endian=True), tf.float32) / 32767.0
        return tf.ensure_shape(wave, [None, spec.length])

    def tensor_spec(self, spec, fitted):
        import tensorflow as tf

        return tf.TensorSpec([spec.length], tf.float32)

    def parquet_columns(self, spec, fitted, transformed):
        return {}  # clips live in the TFRecord shards only
