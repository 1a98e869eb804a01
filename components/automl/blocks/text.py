"""Text blocks: TextBlock (bag of words, or embed + conv or transformer encoder), trained from scratch."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from components.automl.blocks.general import Block
from components.errors import InputError


# Punctuation becomes a space, not nothing: "drama|romance" and "end.Next" must stay two words
# (Keras's default strips it, gluing them into one unknown token).
PUNCTUATION = r"""[!"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']"""


@keras.saving.register_keras_serializable(package="braid")
def standardize_text(text):
    """Lower-case and turn punctuation into spaces (TextVectorization's `standardize`)."""
    return tf.strings.regex_replace(tf.strings.lower(text), PUNCTUATION, " ")


def vectorizer(**kwargs: Any) -> keras.layers.TextVectorization:
    """A TextVectorization layer with Braid's text standardisation."""
    return keras.layers.TextVectorization(standardize=standardize_text, **kwargs)


@keras.saving.register_keras_serializable(package="braid")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding of each token position to a `[B, T, D]` sequence."""

    def __init__(self, sequence_length: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.sequence_length = sequence_length

    def build(self, input_shape):
        self.positions = self.add_weight(
            name="positions", shape=(self.sequence_length, input_shape[-1]), initializer="glorot_uniform"
        )

    def call(self, x):
        return x + keras.ops.cast(self.positions, x.dtype)[None, ...]

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length}


class TextBlock(Block):
    """Text encoder: TextVectorization (vocabulary from the training text), then an encoder.

    Args:
        block_type: "ngram" (bag of words → dense layer: learns fast on small data, like a linear
            model on word counts), "vanilla" (embedding, 1D convolutions + max pooling) or
            "transformer" (embedding, one self-attention encoder layer); searched when None,
            "ngram" first.
        max_tokens: vocabulary size; searched in {5000, 20000} when None.
        embedding_dim: searched in {32, 64} when None.
        dropout: searched in {0, 0.25} when None.
    """

    accepts = ("text",)

    def __init__(
        self,
        block_type: str | None = None,
        max_tokens: int | None = None,
        embedding_dim: int | None = None,
        dropout: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        if block_type not in (None, "ngram", "vanilla", "transformer"):
            raise InputError(f"TextBlock block_type={block_type!r}; use 'ngram', 'vanilla' or 'transformer'.")
        self.block_type, self.max_tokens = block_type, max_tokens
        self.embedding_dim, self.dropout = embedding_dim, dropout

    def build(self, hp, inputs, sources):
        source = sources[0]
        if source is None or "vocabulary" not in source.stats:
            raise InputError(f"TextBlock {self.name} must be fed directly by a TextInput.")
        vocabulary = source.stats["vocabulary"]
        length = source.stats["sequence_length"]
        max_tokens = self.choice(hp, "max_tokens", self.max_tokens, [5000, 20000])
        dim = self.choice(hp, "embedding_dim", self.embedding_dim, [32, 64])
        dropout = self.choice(hp, "dropout", self.dropout, [0.0, 0.25])
        block_type = self.choice(hp, "block_type", self.block_type, ["ngram", "vanilla", "transformer"])
        words = vocabulary[: max(max_tokens - 2, 1)]
        if block_type == "ngram":
            bag = vectorizer(max_tokens=len(words) + 1, output_mode="multi_hot", vocabulary=words)(inputs[0])
            x = keras.layers.Dense(dim * 2, activation="relu")(bag)
            return keras.layers.Dropout(dropout)(x) if dropout else x
        vectorize = vectorizer(max_tokens=len(words) + 2, output_sequence_length=length, vocabulary=words)
        x = vectorize(inputs[0])
        x = keras.layers.Embedding(len(words) + 2, dim, mask_zero=False)(x)
        if block_type == "vanilla":
            for _ in range(2):
                x = keras.layers.Conv1D(dim, 5, padding="same", activation="relu")(x)
            x = keras.layers.GlobalMaxPooling1D()(x)
        else:
            x = PositionEmbedding(length)(x)
            attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=dim // 2)(x, x)
            x = keras.layers.LayerNormalization()(keras.layers.Add()([x, attention]))
            feed = keras.layers.Dense(dim * 2, activation="relu")(x)
            feed = keras.layers.Dense(dim)(feed)
            x = keras.layers.LayerNormalization()(keras.layers.Add()([x, feed]))
            x = keras.layers.GlobalAveragePooling1D()(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
        return x
