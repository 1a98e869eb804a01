"""Text blocks: TextBlock (bag of words, or embed + conv or transformer encoder), trained from scratch."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from components.automl.blocks.general import Block
from components.errors import InputError

# Punctuation becomes a space, not nothing: "drama|romance" and "end.Next" must stay two words
# (Keras's default strips it, gluing them into one unknown token).
TFIDF_SCALE = 8.0
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


@keras.saving.register_keras_serializable(package="braid")
class TfIdf(keras.layers.Layer):
    """Term counts `[B, V]` → sublinear TF-IDF rows: `log1p(count) * idf`, L2-normalised.

    Args:
        idf: one weight per vocabulary slot (slot 0, out-of-vocabulary, usually 0), learned from
            the training text; stored in the config so an exported model needs nothing else.
        scale: multiplies the normalised rows: unit rows give tiny features, and Adam moves weights
            by about the learning rate per step, so a linear model on them would need hundreds of
            epochs to reach logistic regression's weights; scaling is a per-layer learning rate.
    """

    def __init__(self, idf: list[float], scale: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.idf = [float(v) for v in idf]
        self.scale = float(scale)

    def call(self, counts):
        weighted = tf.math.log1p(tf.cast(counts, "float32")) * tf.constant(self.idf, "float32")
        return tf.math.l2_normalize(weighted, axis=-1) * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "idf": self.idf, "scale": self.scale}


class TextBlock(Block):
    """Text encoder: TextVectorization (vocabulary from the training text), then an encoder.

    Args:
        block_type: "ngram" (sublinear TF-IDF of unigrams..`ngrams`-grams with idf from the training
            text, then one linear projection: a logistic regression on TF-IDF, the strongest model
            on small text sets), "vanilla" (embedding, 1D convolutions + max pooling) or
            "transformer" (embedding, one self-attention encoder layer); searched when None,
            "ngram" first.
        max_tokens: vocabulary size (most frequent terms of the training text); searched in
            {20000, 5000} when None.
        sequence_length: tokens per text for the sequence encoders; the 95th percentile of the
            training texts' lengths (8..256) when None.
        ngrams: longest n-gram of the "ngram" encoder's vocabulary, 1 or 2; 2 when None.
        embedding_dim: searched in {32, 64} when None.
        dropout: searched in {0, 0.25} when None.
    """

    accepts = ("text",)

    def __init__(
        self,
        block_type: str | None = None,
        max_tokens: int | None = None,
        sequence_length: int | None = None,
        ngrams: int | None = None,
        embedding_dim: int | None = None,
        dropout: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        if block_type not in (None, "ngram", "vanilla", "transformer"):
            raise InputError(f"TextBlock block_type={block_type!r}; use 'ngram', 'vanilla' or 'transformer'.")
        if ngrams not in (None, 1, 2):
            raise InputError(f"TextBlock ngrams={ngrams!r}; use 1 (words) or 2 (words and word pairs).")
        for arg, value in (("max_tokens", max_tokens), ("sequence_length", sequence_length)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise InputError(f"TextBlock {arg}={value!r}; use a positive integer.")
        self.block_type, self.max_tokens = block_type, max_tokens
        self.sequence_length, self.ngrams = sequence_length, ngrams
        self.embedding_dim, self.dropout = embedding_dim, dropout

    def build(self, hp, inputs, sources):
        source = sources[0]
        if source is None or "vocabulary" not in source.stats:
            raise InputError(f"TextBlock {self.name} must be fed directly by a TextInput.")
        vocabulary = source.stats["vocabulary"]
        length = self.sequence_length or source.stats["sequence_length"]
        max_tokens = self.choice(hp, "max_tokens", self.max_tokens, [20000, 5000])
        dim = self.choice(hp, "embedding_dim", self.embedding_dim, [64, 32])
        dropout = self.choice(hp, "dropout", self.dropout, [0.0, 0.25])
        block_type = self.choice(hp, "block_type", self.block_type, ["ngram", "vanilla", "transformer"])
        if block_type == "ngram":
            return self._tf_idf(inputs[0], source.stats, max_tokens, dim, dropout)
        words = vocabulary[: max(max_tokens - 2, 1)]
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

    def _tf_idf(self, text, stats: dict, max_tokens: int, dim: int, dropout: float):
        ngrams = self.ngrams or 2
        terms, idf = stats.get("ngram_vocabulary"), stats.get("ngram_idf")
        if terms is None:  # statistics from before the TF-IDF encoder: words only, flat idf
            terms, idf = stats["vocabulary"], [1.0] * len(stats["vocabulary"])
        if ngrams == 1:
            pairs = [i for i, term in enumerate(terms) if " " not in term]
            terms, idf = [terms[i] for i in pairs], [idf[i] for i in pairs]
        terms, idf = terms[: max(max_tokens - 1, 1)], idf[: max(max_tokens - 1, 1)]
        counts = vectorizer(vocabulary=terms, ngrams=ngrams, output_mode="count")(text)
        x = TfIdf([0.0, *idf], scale=TFIDF_SCALE)(counts)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
        # Linear: with at least as many units as labels, a linear projection under a linear head
        # is still logistic regression on TF-IDF, and the other modalities join it by concatenation.
        return keras.layers.Dense(dim)(x)
