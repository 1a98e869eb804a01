"""MiniLM's forward pass as one lean TensorFlow graph, for frozen-mode embeddings (`embed_texts`).

`text_encoder` builds the Keras model that is exported and fine-tuned; frozen mode only runs its forward pass,
over many texts. The same weights run here about 5x faster on CPU (benchmarks/README.md, encoders_bench):

- Texts are tokenized once and grouped by token length into buckets (multiples of `BUCKET` tokens), each padded
  only to its bucket's length: little padding, few distinct shapes (one traced graph, one oneDNN primitive
  per shape), and a text's vector does not depend on which texts share its batch.
- The matmul weights are constants of the graph: oneDNN reorders them into its blocked layout once, not on
  every call as it does for weights fed in as inputs.
- On CPUs with bfloat16 matrix units (AMX or AVX512-BF16, `bfloat16_is_fast`) the matmuls and the attention
  take bfloat16 inputs, while the residual stream, layer norms and pooling stay float32: cosine >= 0.9999 to
  the float32 Keras model on movie overviews. Elsewhere everything is float32 and agrees to ~1e-6.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Sequence

import numpy as np

# Padded lengths are multiples of this: finer buckets pad less but give oneDNN more shapes to prepare.
BUCKET = 8
# Texts tokenized and bucketed at a time, in batches: bounds the token-id arrays held at once.
CHUNK_BATCHES = 64
BFLOAT16_VARIABLE = "BRAID_MINILM_BFLOAT16"


def bfloat16_is_fast() -> bool:
    """Whether frozen MiniLM embeddings should use bfloat16 matmuls: this machine multiplies bfloat16
    matrices faster than float32 ones in TensorFlow.

    True on x86 Linux with AMX-BF16 or AVX512-BF16 and TensorFlow's oneDNN kernels on (the default);
    without them bfloat16 matmuls are emulated and slower than float32. `BRAID_MINILM_BFLOAT16=0` in the
    environment answers False, for float32 vectors equal to `text_encoder`'s to ~1e-6 everywhere.
    """
    off = ("0", "false")
    if (
        os.environ.get(BFLOAT16_VARIABLE, "1").lower() in off
        or os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").lower() in off
    ):
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


class FrozenMiniLM:
    """Texts -> MiniLM sentence embeddings with the weights of a `text_encoder` model, computed as described above.

    Args:
        model: A model built by `text_encoder` (its tokenizer, BERT backbone and pooling are read, not changed).
        bfloat16: Whether matmuls take bfloat16 inputs; `None` decides by `bfloat16_is_fast()`.
    """

    def __init__(self, model, bfloat16: bool | None = None):
        import keras_hub
        import tensorflow as tf

        self.bfloat16 = bfloat16_is_fast() if bfloat16 is None else bool(bfloat16)
        packer = model.get_layer("minilm_tokenizer")
        self.max_length = packer.sequence_length
        self.dim = model.output_shape[-1]
        self._tokenize = tf.function(packer, input_signature=[tf.TensorSpec([None], tf.string)])
        # Found by type: Keras numbers the name (bert_backbone_1, ...) when a process builds several.
        backbone = next(layer for layer in model.layers if isinstance(layer, keras_hub.models.BertBackbone))
        self._forward = _forward_graph(backbone, tf.bfloat16 if self.bfloat16 else tf.float32)

    def __call__(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embeddings [len(texts), dim] (float32, unit rows) of `texts`, a list of str, in their order."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        chunk = batch_size * CHUNK_BATCHES
        for start in range(0, len(texts), chunk):
            out[start : start + chunk] = self._embed_chunk(texts[start : start + chunk], batch_size)
        return out

    def _embed_chunk(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        import tensorflow as tf

        packed = self._tokenize(tf.constant(texts, dtype=tf.string))
        token_ids = packed["token_ids"].numpy()
        lengths = packed["padding_mask"].numpy().sum(axis=1).astype(np.int32)
        padded = np.minimum(-(-lengths // BUCKET) * BUCKET, self.max_length)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # A stable sort keeps each bucket in input order, so the batches (and the result) are deterministic.
        order = np.argsort(padded, kind="stable")
        for bucket in np.unique(padded):
            rows = order[padded[order] == bucket]
            for start in range(0, len(rows), batch_size):
                batch = rows[start : start + batch_size]
                ids = np.zeros((len(batch), bucket), dtype=np.int32)
                width = min(bucket, token_ids.shape[1])
                ids[:, :width] = token_ids[batch, :width]
                out[batch] = self._forward(tf.constant(ids), tf.constant(lengths[batch])).numpy()
        return out


def _forward_graph(backbone, compute_dtype):
    """A `tf.function` (token ids [B, L] int32, lengths [B] int32) -> unit embeddings [B, hidden] float32 that
    computes what `backbone` + `MaskedMeanPooling` compute (BERT, post-layer-norm, tanh-approximated GELU)."""
    import tensorflow as tf

    weights = {w.path: w.numpy() for w in backbone.weights}
    heads, hidden = backbone.num_heads, backbone.hidden_dim
    head_dim = hidden // heads
    epsilon = backbone.transformer_layers[0].layer_norm_epsilon
    # The attention's 1/sqrt(head_dim) is folded into the query projection; segment 0 into the positions.
    qkv_scale = np.concatenate([np.full(hidden, 1.0 / math.sqrt(head_dim)), np.ones(2 * hidden)]).astype(np.float32)
    layers = []
    for index in range(backbone.num_layers):
        prefix = f"transformer_layer_{index}/"
        attention = prefix + "self_attention_layer/"
        layers.append(
            {
                "qkv": np.concatenate(
                    [weights[f"{attention}{n}/kernel"].reshape(hidden, hidden) for n in ("query", "key", "value")],
                    axis=1,
                )
                * qkv_scale,
                "qkv_bias": np.concatenate(
                    [weights[f"{attention}{n}/bias"].reshape(hidden) for n in ("query", "key", "value")]
                )
                * qkv_scale,
                "out": weights[attention + "attention_output/kernel"].reshape(hidden, hidden),
                "out_bias": weights[attention + "attention_output/bias"],
                "norm1": (
                    weights[prefix + "self_attention_layer_norm/gamma"],
                    weights[prefix + "self_attention_layer_norm/beta"],
                ),
                "up": weights[prefix + "feedforward_intermediate_dense/kernel"],
                "up_bias": weights[prefix + "feedforward_intermediate_dense/bias"],
                "down": weights[prefix + "feedforward_output_dense/kernel"],
                "down_bias": weights[prefix + "feedforward_output_dense/bias"],
                "norm2": (
                    weights[prefix + "feedforward_layer_norm/gamma"],
                    weights[prefix + "feedforward_layer_norm/beta"],
                ),
            }
        )
    token_table = tf.constant(weights["token_embedding/embeddings"])
    position_table = tf.constant(weights["position_embedding/embeddings"] + weights["segment_embedding/embeddings"][0])
    embedding_norm = (weights["embeddings_layer_norm/gamma"], weights["embeddings_layer_norm/beta"])
    embedding_epsilon = backbone.get_layer("embeddings_layer_norm").epsilon

    def layer_norm(x, gamma_beta, eps):
        mean = tf.reduce_mean(x, axis=-1, keepdims=True)
        centred = x - mean
        variance = tf.reduce_mean(tf.square(centred), axis=-1, keepdims=True)
        return centred * tf.math.rsqrt(variance + eps) * gamma_beta[0] + gamma_beta[1]

    def dense(x, kernel, bias):
        # Built inside the traced function, the weights are Const nodes: oneDNN caches their reordering.
        kernel = tf.constant(kernel, dtype=compute_dtype)
        return tf.nn.bias_add(tf.matmul(tf.cast(x, compute_dtype), kernel), tf.constant(bias, dtype=compute_dtype))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)])
    def forward(token_ids, lengths):
        batch, length = tf.shape(token_ids)[0], tf.shape(token_ids)[1]
        mask = tf.sequence_mask(lengths, length, dtype=tf.float32)
        x = tf.gather(token_table, token_ids) + position_table[:length]
        x = tf.reshape(layer_norm(x, embedding_norm, embedding_epsilon), [batch * length, hidden])
        key_bias = tf.cast((1.0 - mask)[:, None, None, :] * -1e9, compute_dtype)
        for layer in layers:
            qkv = tf.reshape(dense(x, layer["qkv"], layer["qkv_bias"]), [batch, length, 3, heads, head_dim])
            query, key, value = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4]))
            probabilities = tf.nn.softmax(tf.matmul(query, key, transpose_b=True) + key_bias, axis=-1)
            context = tf.reshape(tf.transpose(tf.matmul(probabilities, value), [0, 2, 1, 3]), [batch * length, hidden])
            attended = tf.cast(dense(context, layer["out"], layer["out_bias"]), tf.float32)
            x = layer_norm(x + attended, layer["norm1"], epsilon)
            up = tf.nn.gelu(dense(x, layer["up"], layer["up_bias"]), approximate=True)
            x = layer_norm(
                x + tf.cast(dense(up, layer["down"], layer["down_bias"]), tf.float32), layer["norm2"], epsilon
            )
        x = tf.reshape(x, [batch, length, hidden])
        pooled = tf.reduce_sum(x * mask[:, :, None], axis=1) / tf.maximum(tf.reduce_sum(mask, 1, keepdims=True), 1e-9)
        return pooled / tf.maximum(tf.norm(pooled, axis=-1, keepdims=True), 1e-12)

    return forward
