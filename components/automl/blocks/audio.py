"""Audio blocks: AudioBlock (a searched 2-D CNN over log-mel frames, or 1-D convolutions then a GRU over
the frames), and the layers it builds on.

A clip comes in as its waveform `[B, samples]` (`components.features.audio`: mono, one rate, one
length). `LogMel` turns it into standardised log mel energies `[B, frames, mels]` inside the model,
with tf.signal and the features module's mel filterbank, so an exported model takes the raw waveform;
`SpecAugment` masks a random band of mels and a random span of frames of each training clip (Park et
al. 2019), nothing at prediction.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from components.automl.blocks.general import Block
from components.errors import InputError
from components.features.audio import LOG_FLOOR, N_MELS, frame_sizes, mel_filterbank

BLOCK_TYPES = ("cnn", "crnn")


@keras.saving.register_keras_serializable(package="braid")
class LogMel(keras.layers.Layer):
    """Waveforms `[B, samples]` → log mel energies `[B, frames, n_mels]`, each band standardised.

    The same numbers as `components.features.audio.log_mel` (25 ms periodic Hann windows every 10 ms,
    |rFFT|², the mel filterbank, log(· + 1e-6)), then `(x - mean) / std` per band.

    Args:
        sample_rate: the waveforms' rate, Hz.
        mean, std: per mel band, from the training clips (`features.audio.mel_stats`); None: 0 and 1.
        n_mels: mel bands.
    """

    def __init__(self, sample_rate: int, mean: list[float] | None = None, std: list[float] | None = None,
                 n_mels: int = N_MELS, **kwargs: Any):  # fmt: skip
        kwargs.setdefault("dtype", "float32")  # power spectra overflow float16
        super().__init__(**kwargs)
        self.sample_rate, self.n_mels = int(sample_rate), int(n_mels)
        self.mean = list(mean) if mean is not None else [0.0] * self.n_mels
        self.std = list(std) if std is not None else [1.0] * self.n_mels
        self.frame, self.hop, self.fft_length = frame_sizes(self.sample_rate)
        self.filterbank = mel_filterbank(self.sample_rate, self.fft_length, self.n_mels)

    def call(self, waves):
        waves = tf.cast(waves, tf.float32)
        spectra = tf.signal.stft(waves, self.frame, self.hop, fft_length=self.fft_length, pad_end=False)
        power = tf.math.square(tf.math.abs(spectra))
        energies = tf.math.log(tf.linalg.matmul(power, tf.constant(self.filterbank)) + LOG_FLOOR)
        return (energies - tf.constant(self.mean, tf.float32)) / tf.constant(self.std, tf.float32)

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else max(0, 1 + (samples - self.frame) // self.hop)
        return (input_shape[0], frames, self.n_mels)

    def get_config(self):
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "mean": self.mean,
            "std": self.std,
            "n_mels": self.n_mels,
        }


@keras.saving.register_keras_serializable(package="braid")
class SpecAugment(keras.layers.Layer):
    """`[B, frames, mels]` → the same with, per training clip, one band of up to `max_mels` mels and one
    span of up to `max_frames` (a share of the frames) set to 0 (the bands' mean, after `LogMel`).

    Args:
        max_mels: the widest band of mels masked.
        max_frames: the longest span masked, as a share of the frames.
        seed: the masks' seed (None: drawn while the model is built, `automl.seeding`).
    """

    def __init__(self, max_mels: int = 8, max_frames: float = 0.15, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_mels, self.max_frames, self.seed = int(max_mels), float(max_frames), seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training:
            return x
        batch, frames, mels = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
        draws = keras.random.uniform((batch, 4), seed=self.generator)
        longest = tf.cast(tf.cast(frames, tf.float32) * self.max_frames, tf.float32)
        masks = []
        for size, limit, span in ((mels, float(self.max_mels), 0), (frames, longest, 2)):
            width = tf.math.floor(draws[:, span] * tf.cast(limit, tf.float32))
            start = tf.math.floor(draws[:, span + 1] * tf.maximum(tf.cast(size, tf.float32) - width, 0.0))
            where = tf.cast(tf.range(size), tf.float32)[None, :]
            masks.append((where >= start[:, None]) & (where < (start + width)[:, None]))
        masked = masks[0][:, None, :] | masks[1][:, :, None]
        return tf.where(masked, tf.zeros_like(x), x)

    def get_config(self):
        return {**super().get_config(), "max_mels": self.max_mels, "max_frames": self.max_frames, "seed": self.seed}


class AudioBlock(Block):
    """Waveforms → a feature vector: log mel frames inside the model, then a searched encoder.

    "cnn": Conv2D layers over (frames, mels) with 2×2 max pooling, then the
    global mean and max; "crnn": Conv1D layers over frames (mels as channels) with pooling over time,
    then a GRU's final state. Either may first mask bands and spans of training clips (`SpecAugment`).

    Args:
        block_type: "cnn" or "crnn"; searched when None (CNN first).
        num_layers: convolution layers; searched in {2, 3} when None.
        filters: the first convolution's filters (each later 2-D one doubles them) or the 1-D ones' width;
            searched in {32, 64} when None.
        spec_augment: mask bands and spans of training clips; searched (False first) when None.
        dropout: dropout on the output vector; searched in {0, 0.25} when None.
    """

    accepts = ("audio",)

    def __init__(
        self,
        block_type: str | None = None,
        num_layers: int | None = None,
        filters: int | None = None,
        spec_augment: bool | None = None,
        dropout: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        if block_type not in (None, *BLOCK_TYPES):
            raise InputError(f"AudioBlock block_type={block_type!r}; use one of {list(BLOCK_TYPES)}.")
        self.block_type, self.num_layers, self.filters = block_type, num_layers, filters
        self.spec_augment, self.dropout = spec_augment, dropout

    def build(self, hp, inputs, sources):
        source = sources[0]
        if source is None or "sample_rate" not in source.stats:
            raise InputError(f"AudioBlock {self.name} must be fed directly by an AudioInput.")
        stats = source.stats
        x = LogMel(stats["sample_rate"], stats["mean"], stats["std"])(inputs[0])
        # without masking first: on a few hundred clips it slowed learning so much that a 12-epoch trial
        # stayed at chance (two spoken words, 24 clips: 0.5 with it, 1.0 without)
        if self.choice(hp, "spec_augment", self.spec_augment, [False, True]):
            x = SpecAugment()(x)
        block_type = self.choice(hp, "block_type", self.block_type, list(BLOCK_TYPES))
        filters = self.choice(hp, "filters", self.filters, [32, 64])
        layers = self.choice(hp, "num_layers", self.num_layers, [2, 3])
        dropout = self.choice(hp, "dropout", self.dropout, [0.0, 0.25])
        if block_type == "cnn":
            x = keras.layers.Reshape((-1, int(x.shape[-1]), 1))(x)
            for layer in range(layers):
                x = keras.layers.Conv2D(filters * 2**layer, 3, padding="same", activation="relu")(x)
                x = keras.layers.MaxPooling2D(2, padding="same")(x)
            x = keras.layers.Concatenate()(
                [keras.layers.GlobalAveragePooling2D()(x), keras.layers.GlobalMaxPooling2D()(x)]
            )
        else:
            for _ in range(layers):
                x = keras.layers.Conv1D(filters, 5, padding="same", activation="relu")(x)
                x = keras.layers.MaxPooling1D(2, padding="same")(x)
            x = keras.layers.GRU(filters)(x)
        return keras.layers.Dropout(dropout)(x) if dropout else x
