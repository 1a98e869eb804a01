"""Keras layers the pretrained encoders are made of; registered so an exported `.keras` model reloads them
with `safe_mode=True` once `components.encoders` is imported."""

from __future__ import annotations

import keras

PACKAGE = "braid_encoders"


@keras.saving.register_keras_serializable(package=PACKAGE)
class TextPacker(keras.layers.Layer):
    """Strings [B] -> BERT inputs: WordPiece token ids, segment ids and padding mask, each [B, L].

    L is the longest packed row of the batch, at most `sequence_length`.

    The vocabulary lives in the layer's config rather than in a keras-hub asset file: keras-hub's tokenizer
    reads its asset only after a functional model is rebuilt, too late for the symbolic call, and refuses
    a vocabulary file path under `safe_mode`. Text longer than `sequence_length` tokens (counting [CLS] and
    [SEP]) is truncated; the empty string packs to just [CLS] [SEP].

    Args:
        vocabulary: WordPiece vocabulary, one token per entry, in id order.
        sequence_length: Tokens per row after packing, padding and truncation.
        lowercase: Whether the tokenizer lower-cases (all-MiniLM's vocabulary is uncased).
    """

    def __init__(self, vocabulary: list[str], sequence_length: int = 128, lowercase: bool = True, **kwargs):
        super().__init__(trainable=False, **kwargs)
        import keras_hub

        self.vocabulary = list(vocabulary)
        self.sequence_length = int(sequence_length)
        self.lowercase = bool(lowercase)
        # Hugging Face's uncased BERT tokenizer strips accents whenever it lower-cases; keras-hub needs telling.
        self._tokenizer = keras_hub.models.BertTokenizer(
            vocabulary=self.vocabulary, lowercase=self.lowercase, strip_accents=self.lowercase
        )
        self._packer = keras_hub.layers.MultiSegmentPacker(
            start_value=self._tokenizer.cls_token_id,
            end_value=self._tokenizer.sep_token_id,
            pad_value=self._tokenizer.pad_token_id,
            sequence_length=self.sequence_length,
        )

    def build(self, input_shape):
        # The tokenizer and packer hold no weights; there is nothing to create.
        self.built = True

    def call(self, texts):
        token_ids, segment_ids = self._packer(self._tokenizer(texts))
        padding_mask = keras.ops.cast(token_ids != self._tokenizer.pad_token_id, "int32")
        # Padding is masked out, so cutting the columns that are padding in every row changes no result
        # but saves most of the compute for short texts (a 60-word text is ~80 tokens of 128).
        longest = keras.ops.maximum(keras.ops.max(keras.ops.sum(padding_mask, axis=1)), 2)
        return {
            "token_ids": token_ids[:, :longest],
            "segment_ids": segment_ids[:, :longest],
            "padding_mask": padding_mask[:, :longest],
        }

    def compute_output_spec(self, texts):
        shape = (texts.shape[0], None)
        spec = keras.KerasTensor(shape, dtype="int32")
        return {
            "token_ids": spec,
            "segment_ids": keras.KerasTensor(shape, dtype="int32"),
            "padding_mask": keras.KerasTensor(shape, dtype="int32"),
        }

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("trainable", None)
        config.update(vocabulary=self.vocabulary, sequence_length=self.sequence_length, lowercase=self.lowercase)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedMeanPooling(keras.layers.Layer):
    """Mean of token vectors [B, L, D] over the positions where `mask` [B, L] is set, then L2-normalised.

    This is sentence-transformers' pooling for all-MiniLM-L6-v2 (mean over real tokens, padding left out,
    followed by its `Normalize` module), so the vectors match the published model's.
    """

    def __init__(self, normalize: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.normalize = bool(normalize)

    def call(self, sequence, mask):
        weights = keras.ops.expand_dims(keras.ops.cast(mask, sequence.dtype), -1)
        summed = keras.ops.sum(sequence * weights, axis=1)
        pooled = summed / keras.ops.maximum(keras.ops.sum(weights, axis=1), 1e-9)
        if not self.normalize:
            return pooled
        norm = keras.ops.sqrt(keras.ops.sum(keras.ops.square(pooled), axis=-1, keepdims=True))
        return pooled / keras.ops.maximum(norm, 1e-12)

    def compute_output_shape(self, sequence_shape, mask_shape=None):
        return (sequence_shape[0], sequence_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "normalize": self.normalize}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PixelScaling(keras.layers.Layer):
    """Pixels in [0, 255] (uint8 or float) -> `(x - offset) / scale` as float32.

    EfficientNet-Lite was trained with inception-style scaling, offset 127 and scale 128 (the TF reference's
    MEAN_RGB/STDDEV_RGB for its edge models), not the torchvision mean/std.
    """

    def __init__(self, offset: float = 127.0, scale: float = 128.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = float(offset)
        self.scale = float(scale)

    def call(self, images):
        return (keras.ops.cast(images, "float32") - self.offset) / self.scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "offset": self.offset, "scale": self.scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ToRGB(keras.layers.Layer):
    """Images [B, H, W, 1|3|4] in [0, 255] -> float32 RGB [B, *size, 3], as `embed_images` prepares them.

    Grayscale is repeated, alpha is composited on white, and images of another size are resized
    (bilinear, antialiased), so a model with the encoder inside sees what frozen embeddings saw.

    Args:
        size: (height, width) the encoder sees.
    """

    def __init__(self, size: tuple[int, int], **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.size = (int(size[0]), int(size[1]))

    def call(self, images):
        import tensorflow as tf

        x = tf.cast(images, "float32")
        channels = x.shape[-1]
        if channels == 1:
            x = tf.repeat(x, 3, axis=-1)
        elif channels == 4:
            alpha = x[..., 3:] / 255.0
            x = x[..., :3] * alpha + 255.0 * (1.0 - alpha)
        if tuple(x.shape[1:3]) != self.size:
            x = tf.image.resize(x, self.size, antialias=True)
        return tf.clip_by_value(x, 0.0, 255.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.size, 3)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": list(self.size)}
