"""Frozen pretrained embeddings for the AutoModel's default graph (`AutoModel(pretrained=...)`).

On CPUs a pretrained encoder inside the model would run on every row of every epoch of every trial;
frozen, it runs once per row. When the default graph is wired and the `braid[pretrained]` extra is
installed, each `TextInput` (MiniLM, 384-d) and `ImageInput` (EfficientNet-Lite0, 1280-d) gets a
hidden vector input `<input>__<encoder>` and the search chooses, per input, between that embedding
and the from-scratch block (`EncoderChoice`): text tries the embedding first, images the scratch CNN
first (see `graph.Graph._wire_default` for why).

The AutoModel adds the vectors to the data it is given (arrays: computed once per distinct array and
kept in memory and on disk under `<directory>/_embeddings`, which `overwrite=True` leaves alone;
a `tf.data.Dataset`: computed batch by batch, then cached with the dataset). `export_model()` puts
the encoders in front of the searched model, so the exported model takes the raw inputs alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.automl.nodes import ImageInput, Input, InputNode, TextInput
from components.errors import InputError

ENCODER_OF = {TextInput: "minilm", ImageInput: "efficientnet_lite0"}


@dataclass
class Frozen:
    """One input's frozen encoder: the source node, the encoder's name and the hidden vector node."""

    source: InputNode
    encoder: str
    vector: Input


def plan(inputs: list[InputNode], pretrained: bool | None) -> list[Frozen]:
    """The frozen encoders of a default graph: every text and image input when `pretrained` is True
    (the extra must be installed) or None (when it is installed); none when False."""
    if pretrained not in (None, True, False):
        raise InputError(f"pretrained={pretrained!r}; use True, False or None (pretrained when installed).")
    if pretrained is False:
        return []
    from components.encoders import is_available, require

    frozen = []
    for node in inputs:
        encoder = ENCODER_OF.get(type(node))
        if encoder is None:
            continue
        if pretrained:
            require(encoder)  # MissingExtraError naming the extra
        elif not is_available(encoder):
            continue
        frozen.append(Frozen(node, encoder, Input(name=f"{node.name}__{encoder}")))
    return frozen


class Embedder:
    """Computes (and caches) the frozen embeddings of raw input arrays.

    Args:
        frozen: the plan.
        cache_dir: where embeddings are kept between runs (None: in memory only).
    """

    def __init__(self, frozen: list[Frozen], cache_dir: Path | None):
        self.frozen, self.cache_dir = frozen, cache_dir
        self._memory: dict[str, np.ndarray] = {}
        self.computed_rows = 0  # rows actually run through an encoder (the rest came from a cache)

    def add(self, xs: dict) -> dict:
        """`xs` (raw arrays keyed by input name) with each hidden vector input added."""
        if not self.frozen:
            return xs
        out = dict(xs)
        for item in self.frozen:
            out[item.vector.name] = self.embed(item, np.asarray(xs[item.source.name]))
        return out

    def embed(self, item: Frozen, values: np.ndarray) -> np.ndarray:
        """float32 [N, dim] embeddings of one input's raw values."""
        from components.encoders import spec

        key = hashlib.sha256(f"{spec(item.encoder).fingerprint()}|{values.dtype}|{values.shape}".encode())
        key.update(_content(values))
        name = f"{item.encoder}-{key.hexdigest()[:24]}.npy"
        if name in self._memory:
            return self._memory[name]
        path = self.cache_dir / name if self.cache_dir else None
        if path is not None and path.is_file():
            vectors = np.load(path)
        else:
            vectors = _compute(item, values)
            self.computed_rows += len(values)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".part.npy")
                np.save(partial, vectors)
                partial.replace(path)  # a crash never leaves half a file under the final name
        self._memory[name] = vectors
        return vectors

    def map_dataset(self, dataset, with_targets: bool):
        """A dataset of raw examples with the hidden vectors added (batches of 64 through the encoders)."""
        if not self.frozen:
            return dataset
        import tensorflow as tf

        def add(x):
            x = dict(x)
            for item in self.frozen:
                dim = _dim(item)
                vector = tf.numpy_function(lambda v, item=item: _compute(item, v), [x[item.source.name]], tf.float32)
                x[item.vector.name] = tf.ensure_shape(vector, [None, dim])
            return x

        batched = dataset.batch(64)
        batched = batched.map(lambda x, y: (add(x), y)) if with_targets else batched.map(add)
        rows = int(dataset.cardinality())
        out = batched.unbatch()
        return out.apply(tf.data.experimental.assert_cardinality(rows)) if rows >= 0 else out

    def export(self, model, inputs: list[InputNode]):
        """`model` (taking the raw inputs and the hidden vectors) behind the encoders: a model of the raw inputs."""
        if not self.frozen:
            return model
        import keras

        raw = {node.name: node.keras_input() for node in inputs}
        feed = dict(raw)
        for item in self.frozen:
            feed[item.vector.name] = _encoder_model(item)(raw[item.source.name])
        names = [t.name for t in model.inputs]
        # Replays the searched model's layers on the new tensors (a nested call would hide its layers,
        # e.g. `get_layer(head)`, and its output names); the layers and their weights are shared.
        outputs = model._run_through_graph([feed[name] for name in names], operation_fn=lambda layer: layer)
        return keras.Model(inputs=[raw[node.name] for node in inputs], outputs=outputs, name=model.name)


def _content(values: np.ndarray) -> bytes:
    if values.dtype.kind in "OUS":
        return "\x00".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                           for v in values.reshape(-1)).encode("utf-8")
    return np.ascontiguousarray(values).tobytes()


def _dim(item: Frozen) -> int:
    from components.encoders import spec

    return spec(item.encoder).dim


def _compute(item: Frozen, values: np.ndarray) -> np.ndarray:
    from components.encoders import embed_images, embed_texts

    # embed_texts decodes bytes (as tf.numpy_function passes strings); embed_images takes any channels
    return embed_texts(values.reshape(-1)) if item.encoder == "minilm" else embed_images(values)


def _encoder_model(item: Frozen):
    """The Keras encoder the export puts in front: the same network `_compute` runs."""
    import keras

    from components.encoders import image_encoder, text_encoder
    from components.encoders.image import MIN_SIDE
    from components.encoders.layers import ToRGB

    if item.encoder == "minilm":
        encoder = text_encoder()
        text = keras.Input(shape=(), dtype="string", name=f"{item.vector.name}_text")
        return keras.Model(text, encoder(text), name=item.vector.name.replace("/", "_"))
    height, width, _ = item.source.shape
    size = (max(height, MIN_SIDE), max(width, MIN_SIDE))  # as embed_images sizes them
    encoder = image_encoder(image_size=size)
    image = keras.Input(shape=item.source.shape, dtype="float32", name=f"{item.vector.name}_image")
    rgb = ToRGB(size=size)(image)
    return keras.Model(image, encoder(rgb), name=item.vector.name.replace("/", "_"))
