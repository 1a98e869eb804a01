"""Sequence blocks: TextToIntSequence (text → token ids), Embedding, RNNBlock.

AutoKeras's text graph `TextInput → TextToIntSequence → Embedding → RNNBlock` wires as is;
Embedding also takes raw text straight from a TextInput.
"""

from __future__ import annotations

from typing import Any

import keras

from components.automl.blocks.general import Block
from components.automl.blocks.text import vectorizer
from components.errors import InputError


def _token_ids(block: Block, inputs, sources, max_tokens: int, length: int | None = None):
    source = sources[0]
    if source is None or "vocabulary" not in source.stats:
        raise InputError(f"{type(block).__name__} {block.name} must be fed directly by a TextInput.")
    words = source.stats["vocabulary"][: max(max_tokens - 2, 1)]
    length = length or source.stats["sequence_length"]
    return vectorizer(max_tokens=len(words) + 2, output_sequence_length=length, vocabulary=words)(inputs[0])


class TextToIntSequence(Block):
    """Raw text → a sequence of token ids (vocabulary from the training text).

    Args:
        output_sequence_length: tokens per example; the 95th percentile of training lengths when None.
        max_tokens: vocabulary size (20000 by default).
    """

    accepts = ("text",)

    def __init__(
        self, output_sequence_length: int | None = None, max_tokens: int = 20000, name: str | None = None, **kwargs: Any
    ):
        super().__init__(name=name, **kwargs)
        self.output_sequence_length, self.max_tokens = output_sequence_length, max_tokens

    def build(self, hp, inputs, sources):
        return _token_ids(self, inputs, sources, self.max_tokens, self.output_sequence_length)


class Embedding(Block):
    """Token ids (or raw text from a TextInput) → a sequence of learned vectors `(B, T, D)`.

    Args:
        max_features: vocabulary size (ids must be below it).
        pretraining: must be "none" or None: Braid downloads no embeddings.
        embedding_dim: searched in {32, 64, 128} when None.
        dropout: searched in {0, 0.25} when None.
    """

    accepts = ("text", "vector")

    def __init__(
        self,
        max_features: int = 20001,
        pretraining: str | None = None,
        embedding_dim: int | None = None,
        dropout: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        if pretraining not in (None, "none"):
            raise InputError(
                f"Embedding pretraining={pretraining!r} is not supported: Braid downloads no "
                "embeddings; leave pretraining out to train them."
            )
        self.max_features, self.embedding_dim, self.dropout = max_features, embedding_dim, dropout

    def build(self, hp, inputs, sources):
        x = inputs[0]
        if x.dtype == "string":
            x = _token_ids(self, inputs, sources, self.max_features)
        dim = self.choice(hp, "embedding_dim", self.embedding_dim, [64, 32, 128])
        dropout = self.choice(hp, "dropout", self.dropout, [0.0, 0.25])
        x = keras.layers.Embedding(self.max_features, dim)(keras.ops.cast(x, "int32"))
        return keras.layers.Dropout(dropout)(x) if dropout else x


class RNNBlock(Block):
    """Recurrent layers over a sequence `(B, T, D)` (a vector `(B, D)` is read as D steps of 1).

    Args:
        return_sequences: return the whole last sequence instead of its final state.
        bidirectional: searched when None.
        num_layers: searched in {1, 2} when None.
        layer_type: "lstm" or "gru"; searched when None.
    """

    accepts = ("vector",)

    def __init__(
        self,
        return_sequences: bool = False,
        bidirectional: bool | None = None,
        num_layers: int | None = None,
        layer_type: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        if layer_type not in (None, "lstm", "gru"):
            raise InputError(f"RNNBlock layer_type={layer_type!r}; use 'lstm' or 'gru'.")
        self.return_sequences, self.bidirectional = return_sequences, bidirectional
        self.num_layers, self.layer_type = num_layers, layer_type

    def build(self, hp, inputs, sources):
        x = inputs[0]
        if len(x.shape) == 2:
            x = keras.layers.Reshape((x.shape[1], 1))(x)
        if len(x.shape) != 3:
            raise InputError(f"RNNBlock {self.name} needs a sequence (batch, steps, features); got shape {x.shape}.")
        bidirectional = self.bidirectional
        if bidirectional is None:
            bidirectional = hp.Boolean(self.hp_name("bidirectional"), default=True)
        num_layers = self.choice(hp, "num_layers", self.num_layers, [1, 2])
        layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[
            self.choice(hp, "layer_type", self.layer_type, ["lstm", "gru"])
        ]
        units = int(x.shape[-1]) if x.shape[-1] and x.shape[-1] > 1 else 32
        for i in range(num_layers):
            sequences = self.return_sequences or i < num_layers - 1
            rnn = layer(units, return_sequences=sequences)
            x = keras.layers.Bidirectional(rnn)(x) if bidirectional else rnn(x)
        return x
