"""The block base class and the modality-free blocks: DenseBlock and Merge."""

from __future__ import annotations

import re
from typing import Any, Sequence

import keras

from components.automl.nodes import InputNode, Node
from components.errors import InputError, InputTypeError


def snake_case(name: str) -> str:
    # "RNNBlock" → "rnn_block", "ImageBlock" → "image_block".
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def name_unnamed(items: list, taken: set[str]) -> None:
    """Give each item without a name `<snake_case class>_<n>`, skipping names already taken."""
    counts: dict[str, int] = {}
    for item in items:
        if item.name:
            continue
        base = snake_case(type(item).__name__)
        while True:
            counts[base] = counts.get(base, 0) + 1
            candidate = f"{base}_{counts[base]}"
            if candidate not in taken:
                break
        item.name = candidate
        taken.add(candidate)


class Block:
    """A searchable piece of the model graph.

    Call a block on nodes to wire it (`out = ak.DenseBlock()(node)`); at search
    time `build(hp, inputs, sources)` turns it into Keras layers, drawing its
    hyperparameters from `hp` under the block's name.

    Subclasses set `accepts` (node kinds they take) and implement `build`. A block written for
    AutoKeras, with `build(self, hp, inputs)`, works as is:

        class SingleDense(ak.Block):
            def build(self, hp, inputs):
                x = tf.nest.flatten(inputs)[0]
                return keras.layers.Dense(hp.Int("units", 16, 64, step=16))(x)
    """

    accepts: tuple[str, ...] = ("vector", "image", "structured")
    multi_input = False

    def __init__(self, name: str | None = None, **kwargs: Any):
        if kwargs:
            raise InputError(
                f"{type(self).__name__} got unknown arguments {sorted(kwargs)}; "
                "check the spelling against the block's docstring."
            )
        self.name = name
        self.inputs: list[Node] = []
        self.outputs: list[Node] = []

    def __call__(self, inputs: Node | Sequence[Node]) -> Node:
        nodes = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not nodes or not all(isinstance(n, Node) for n in nodes):
            raise InputTypeError(f"{type(self).__name__} must be called on graph nodes (inputs or block outputs).")
        if len(nodes) > 1 and not self.multi_input:
            raise InputError(f"{type(self).__name__} takes one input node; merge nodes first with ak.Merge().")
        for node in nodes:
            if node.kind not in self.accepts:
                raise InputError(
                    f"{type(self).__name__} cannot take a {node.kind!r} node (from {_origin(node)}); "
                    f"it accepts {list(self.accepts)}. Put a matching block in between, e.g. "
                    "TextBlock for text or CategoricalToNumerical for tables."
                )
        self.inputs = nodes
        out = Node(kind=self.output_kind([n.kind for n in nodes]), block=self)
        self.outputs = [out]
        return out

    def output_kind(self, kinds: list[str]) -> str:
        return "vector"

    def hp_name(self, param: str) -> str:
        return f"{self.name}/{param}"

    def choice(self, hp, param: str, value: Any, values: list, default: Any = None):
        """The fixed `value` if the user gave one, else a searched `hp.Choice`."""
        if value is not None:
            return value
        return hp.Choice(self.hp_name(param), values, default=values[0] if default is None else default)

    def build(self, hp, inputs: list, sources: list[InputNode | None]):
        raise NotImplementedError


def _origin(node: Node) -> str:
    if isinstance(node, InputNode):
        return f"input {node.name!r}"
    return type(node.block).__name__ if node.block is not None else "an unknown block"


def to_vector(tensor):
    """Flatten a spatial or sequence tensor into features by global average pooling."""
    if len(tensor.shape) == 4:
        return keras.layers.GlobalAveragePooling2D()(tensor)
    if len(tensor.shape) == 3:
        return keras.layers.GlobalAveragePooling1D()(tensor)
    if len(tensor.shape) == 1:
        return keras.layers.Reshape((1,))(tensor)
    return tensor


def check_numeric(tensor, block: Block):
    if tensor.dtype == "string":
        raise InputError(
            f"{type(block).__name__} ({block.name}) got a table with categorical (string) columns; "
            "put ak.CategoricalToNumerical() or ak.StructuredDataBlock() in front of it."
        )


class DenseBlock(Block):
    """Fully connected layers.

    Args:
        num_layers: number of Dense layers; searched in {1, 2} when None.
        num_units: units per layer; searched in {32, 64, 128} when None.
        use_batchnorm: add BatchNormalization; False when None.
        dropout: dropout rate; searched in {0, 0.25} when None.
    """

    def __init__(
        self,
        num_layers: int | None = None,
        num_units: int | None = None,
        use_batchnorm: bool | None = None,
        dropout: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        self.num_layers, self.num_units = num_layers, num_units
        self.use_batchnorm, self.dropout = use_batchnorm, dropout

    def build(self, hp, inputs, sources):
        x = inputs[0]
        check_numeric(x, self)
        x = to_vector(keras.layers.Flatten()(x) if len(x.shape) > 4 else x)
        x = keras.ops.cast(x, "float32") if x.dtype != "float32" else x
        num_layers = self.choice(hp, "num_layers", self.num_layers, [1, 2])
        units = self.choice(hp, "num_units", self.num_units, [64, 32, 128])
        dropout = self.choice(hp, "dropout", self.dropout, [0.0, 0.25])
        for _ in range(num_layers):
            x = keras.layers.Dense(units)(x)
            if self.use_batchnorm:
                x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
            if dropout:
                x = keras.layers.Dropout(dropout)(x)
        return x


class Merge(Block):
    """Merge several nodes into one feature vector by adding or concatenating.

    Args:
        merge_type: "add" or "concatenate"; searched when None. "add" falls
            back to concatenation when the widths differ.
    """

    accepts = ("vector", "image", "structured")
    multi_input = True

    def __init__(self, merge_type: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if merge_type not in (None, "add", "concatenate"):
            raise InputError(f"Merge merge_type={merge_type!r}; use 'add' or 'concatenate'.")
        self.merge_type = merge_type

    def build(self, hp, inputs, sources):
        for tensor in inputs:
            check_numeric(tensor, self)
        vectors = [to_vector(t) for t in inputs]
        vectors = [keras.ops.cast(v, "float32") if v.dtype != "float32" else v for v in vectors]
        if len(vectors) == 1:
            return vectors[0]
        merge_type = self.choice(hp, "merge_type", self.merge_type, ["concatenate", "add"])
        if merge_type == "add" and len({v.shape[-1] for v in vectors}) == 1:
            return keras.layers.Add()(vectors)
        return keras.layers.Concatenate()(vectors)
