"""The model graph: input nodes → blocks → heads, and one keras.Model per set of hyperparameters.

When the heads are not wired to anything (AutoKeras's "AutoModel with inputs and
outputs only"), `Graph` wires a default encoder per input (ImageBlock, TextBlock,
StructuredDataBlock, TimeseriesBlock, AudioBlock), a searched `Fusion` when there are several inputs, and the
heads on top. An input with a frozen pretrained encoder (`automl.frozen`) gets an
`EncoderChoice` between its embedding (tried first) and its from-scratch block.
"""

from __future__ import annotations

import inspect

import keras

from components.automl.blocks import (
    AudioBlock,
    DenseBlock,
    EncoderChoice,
    Fusion,
    ImageBlock,
    Normalization,
    StructuredDataBlock,
    TextBlock,
    TimeseriesBlock,
)
from components.automl.blocks.general import Block, name_unnamed
from components.automl.heads import Head
from components.automl.nodes import (
    AudioInput,
    ImageInput,
    InputNode,
    Node,
    StructuredDataInput,
    TextInput,
    TimeseriesInput,
)
from components.errors import InputError, InputTypeError

_DEFAULT_BLOCK = {
    ImageInput: ImageBlock,
    TextInput: TextBlock,
    StructuredDataInput: StructuredDataBlock,
    TimeseriesInput: TimeseriesBlock,
    AudioInput: AudioBlock,
}


class Graph:
    """Wires and checks the graph once; `build(hp)` makes a fresh keras.Model.

    Args:
        inputs: the input nodes, in the order data is given.
        heads: the heads, in the order targets are given.
        frozen: the default graph's frozen pretrained encoders (`automl.frozen.plan`); their
            vector nodes are appended to `inputs`. Ignored when the heads are wired.
    """

    def __init__(self, inputs: list[InputNode], heads: list[Head], frozen: list | None = None):
        self.inputs, self.heads = list(inputs), heads
        wired = [h for h in heads if h.inputs]
        if wired and len(wired) != len(heads):
            raise InputError("Either call every head on a node or none of them (then AutoModel wires the graph).")
        self.frozen = [] if wired else list(frozen or [])
        self.choices: list[EncoderChoice] = []  # the default graph's choices between a frozen vector and scratch
        if not wired:
            self._wire_default()
        self.blocks = self._topological_blocks()
        self._check_inputs_used()
        self._name_blocks()

    def _wire_default(self) -> None:
        encoded = []
        vectors = {id(item.source): item.vector for item in self.frozen}
        for node in self.inputs:
            block = _DEFAULT_BLOCK.get(type(node), DenseBlock)
            scratch = block()(node)
            vector = vectors.get(id(node))
            if vector is not None:
                # Text: MiniLM's unit vectors go to the fusion as they are (a dense block on them lost 0.07
                # genres micro-F1 on movies), tried first. Images: EfficientNet features (unnormalised
                # ReLU6 activations, 1280 of them) are standardised and projected with dropout, and tried
                # second: on posters (2,000 training rows, 64 px) they overfit where the scratch CNN does
                # not (benchmarks/README.md).
                if isinstance(node, ImageInput):
                    pretrained = DenseBlock(num_layers=1, num_units=64, dropout=0.25)(Normalization()(vector))
                    choice = EncoderChoice(["scratch", "pretrained"])
                    scratch = choice([scratch, pretrained])
                else:
                    choice = EncoderChoice(["pretrained", "scratch"])
                    scratch = choice([vector, scratch])
                self.choices.append(choice)
            encoded.append(scratch)
        self.inputs += [item.vector for item in self.frozen]
        merged = Fusion()(encoded) if len(encoded) > 1 else encoded[0]
        for head in self.heads:
            head(merged)

    def _topological_blocks(self) -> list[Block]:
        order: list[Block] = []
        visiting: set[int] = set()

        def visit(block: Block) -> None:
            if block in order:
                return
            if id(block) in visiting:
                raise InputError(f"The graph has a cycle through {type(block).__name__}.")
            visiting.add(id(block))
            for node in block.inputs:
                if isinstance(node, InputNode):
                    if not any(node is i for i in self.inputs):
                        raise InputError(
                            f"Input node {node.name or type(node).__name__} is used by the graph but missing "
                            "from AutoModel(inputs=[...]); add it."
                        )
                elif node.block is None:
                    raise InputError("A node in the graph was not produced by a block or an input.")
                else:
                    visit(node.block)
            order.append(block)

        for head in self.heads:
            visit(head)
        return order

    def _check_inputs_used(self) -> None:
        used = {id(n) for b in self.blocks for n in b.inputs}
        for node in self.inputs:
            if id(node) not in used:
                raise InputError(
                    f"Input {node.name or type(node).__name__} is not connected to any head; wire it or remove it."
                )

    def _name_blocks(self) -> None:
        name_unnamed(self.blocks, {b.name for b in self.blocks if b.name})

    def reads_frozen(self, hp) -> bool:
        """Whether the model of `hp` reads a frozen vector (one of its `EncoderChoice`s picks "pretrained").

        A model that reads none still takes the vectors as inputs, but they feed nothing: zeros do."""
        values = getattr(hp, "values", {})
        return any(
            (choice.fixed or values.get(choice.hp_name("encoder"), choice.options[0])) == "pretrained"
            for choice in self.choices
        )

    def build(self, hp) -> keras.Model:
        """A new functional model for these hyperparameters (inputs named after the input nodes)."""
        tensors: dict[int, object] = {}
        sources: dict[int, InputNode | None] = {}
        model_inputs = []
        for node in self.inputs:
            tensor = node.keras_input()
            tensors[id(node)], sources[id(node)] = tensor, node
            model_inputs.append(tensor)
        for block in self.blocks:
            args = [tensors[id(n)] for n in block.inputs]
            arg_sources = [sources[id(n)] for n in block.inputs]
            out = build_block(block, hp, args, arg_sources)
            node = block.outputs[0]
            tensors[id(node)] = out
            single = len(arg_sources) == 1 and getattr(block, "passes_source", False)
            sources[id(node)] = arg_sources[0] if single else None
        outputs = [tensors[id(h.outputs[0])] for h in self.heads]
        return keras.Model(inputs=model_inputs, outputs=outputs)


def build_block(block: Block, hp, inputs: list, sources: list):
    """`block.build(hp, inputs, sources)`, or AutoKeras's `build(hp, inputs)` for blocks written
    for AutoKeras (their hyperparameter names are then scoped by the block's name, as AutoKeras does)."""
    parameters = inspect.signature(block.build).parameters
    if "sources" in parameters or len(parameters) >= 3:
        return block.build(hp, inputs, sources)
    with hp.name_scope(block.name):
        return block.build(hp, inputs)


def output_heads(outputs: list) -> list[Head]:
    """AutoModel `outputs` (heads, or nodes made by calling heads) → heads."""
    heads = []
    for item in outputs:
        if isinstance(item, Head):
            heads.append(item)
        elif isinstance(item, Node) and isinstance(item.block, Head):
            heads.append(item.block)
        else:
            raise InputTypeError(
                f"AutoModel outputs must be heads (ak.ClassificationHead(), ak.RegressionHead()) or nodes "
                f"returned by calling a head; got {item!r}."
            )
    return heads
