"""Frozen pretrained embeddings for the AutoModel's default graph (`AutoModel(pretrained=...)`).

On CPUs a pretrained encoder inside the model would run on every row of every epoch of every trial;
frozen, it runs once per row. When the default graph is wired and the `braid[pretrained]` extra is
installed, each `TextInput` (MiniLM, 384-d) and `ImageInput` (EfficientNet-Lite0, 1280-d) gets a
hidden vector input `<input>__<encoder>` and the search chooses, per input, between that embedding
and the from-scratch block (`EncoderChoice`): text tries the embedding first, images the scratch CNN
first (see `graph.Graph._wire_default` for why).

The vectors are computed lazily: only when a trial's configuration picks a frozen encoder (`Feeds`).
Until then the hidden inputs read zeros, which feed nothing in a model whose choices all say "scratch";
a small search that never reaches the pretrained option never builds an encoder (benchmarks/README.md,
"overhead"). Once needed, the AutoModel adds the vectors to the data it is given (arrays: computed once
per distinct array and kept in memory and on disk under `<directory>/_embeddings`, which `overwrite=True`
leaves alone; a `tf.data.Dataset`: computed batch by batch, then cached with the dataset), and keeps
adding them to what it predicts on while its final model reads them. `export_model()` puts the encoders
in front of the searched model, so the exported model takes the raw inputs alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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
    from components.encoders import is_available, require, spec

    frozen = []
    for node in inputs:
        encoder = ENCODER_OF.get(type(node))
        if encoder is None:
            continue
        if pretrained:
            require(encoder)  # MissingExtraError naming the extra
        elif not is_available(encoder):
            continue
        vector = Input(name=f"{node.name}__{encoder}")
        vector.shape = (spec(encoder).dim,)  # known before any row is embedded: models build without them
        frozen.append(Frozen(node, encoder, vector))
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
        self.fed = True  # whether `add` and `map_dataset` compute the vectors (the model reads them)

    def inputs(self, inputs: list[InputNode]) -> list[InputNode]:
        """The inputs the data carries: all of them when fed, the raw ones otherwise (`fill` adds zeros)."""
        vectors = {id(item.vector) for item in self.frozen}
        return list(inputs) if self.fed else [node for node in inputs if id(node) not in vectors]

    def fill(self, x: dict, *rest):
        """A batch with zeros for every hidden vector input it lacks (a model that does not read them)."""
        import tensorflow as tf

        x = dict(x)
        for item in self.frozen:
            if item.vector.name not in x:
                rows = tf.shape(x[item.source.name])[0]
                x[item.vector.name] = tf.zeros([rows, *item.vector.shape], "float32")
        return (x, *rest) if rest else x

    def add(self, xs: dict) -> dict:
        """`xs` (raw arrays keyed by input name) with each hidden vector input added, when fed."""
        return self.vectors(xs) if self.fed else xs

    def vectors(self, xs: dict) -> dict:
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

    def map_dataset(self, dataset, with_targets: bool, fed: bool | None = None):
        """A dataset of raw examples with the hidden vectors added (batches of 64 through the encoders),
        when fed (`fed` overrides `self.fed`)."""
        if not self.frozen or not (self.fed if fed is None else fed):
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

    def part_of_arrays(self, xs: dict, ys: dict | None) -> "Part":
        """Raw `(x, y)` arrays as a `Part`."""
        import tensorflow as tf

        return Part(
            tf.data.Dataset.from_tensor_slices((xs, ys)),
            lambda: tf.data.Dataset.from_tensor_slices((self.vectors(xs), ys)),
        )

    def part_of_dataset(self, dataset) -> "Part":
        """Raw `(x, y)` examples of a dataset as a `Part`."""
        return Part(dataset, lambda: self.map_dataset(dataset, with_targets=True, fed=True))

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


@dataclass
class Part:
    """Raw `(x, y)` examples of one part of the data (training or validation), without the hidden vectors,
    and how to get them with the vectors (which runs the encoders, or reads their cache)."""

    raw: object
    with_vectors: Callable[[], object]


class Feeds:
    """A search's training and validation datasets: zeros for the hidden vectors until a configuration reads
    them, the vectors from then on.

    Args:
        embedder: computes the vectors.
        train, val: the two parts of the data.
        make: `(train_raw, val_raw, fed) → (train_ds, val_ds)`, the model-ready datasets; with `fed`, the raw
            examples carry the vectors and `make` fits the vector inputs on the training ones.
    """

    def __init__(self, embedder: Embedder, train: Part, val: Part, make: Callable):
        self.embedder, self.parts, self.make = embedder, (train, val), make
        self.light = make(train.raw, val.raw, False)
        self.vectors: tuple | None = None  # (train_ds, val_ds) with the vectors, made on first need

    @property
    def fed(self) -> bool:
        """Whether a configuration has read the vectors (they are computed)."""
        return self.vectors is not None

    def feed(self) -> None:
        """Compute the vectors (once): called before a model that reads them is built."""
        if self.vectors is None and self.embedder.frozen:
            train, val = self.parts
            self.vectors = self.make(train.with_vectors(), val.with_vectors(), True)

    def current(self) -> tuple:
        """(train_ds, val_ds): with the vectors once computed (right for every model), else with zeros."""
        return self.vectors or self.light

    def swap(self, x, validation_data):
        """A trial's `fit` arguments given the datasets without vectors → the current ones."""
        if self.vectors is None:
            return x, validation_data
        lookup = {id(light): fed for light, fed in zip(self.light, self.vectors)}
        return lookup.get(id(x), x), lookup.get(id(validation_data), validation_data)


def _content(values: np.ndarray) -> bytes:
    if values.dtype.kind in "OUS":
        return "\x00".join(
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values.reshape(-1)
        ).encode("utf-8")
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
