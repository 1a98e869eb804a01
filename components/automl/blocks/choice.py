"""EncoderChoice: the search picks one of several encodings of the same input (pretrained or scratch)."""

from __future__ import annotations

from typing import Any

import keras

from components.automl.blocks.general import Block, check_numeric, to_vector
from components.errors import InputError


class EncoderChoice(Block):
    """Pass on one of its input nodes, chosen by a searched hyperparameter (the first is the default).

    The nodes not chosen stay model inputs but feed nothing, so one exported model serves every choice.

    Args:
        options: a name per input node, in order, e.g. `["pretrained", "scratch"]`.
        choice: fix the choice instead of searching it.

    Example:
        >>> text = ak.TextInput(name="overview"); vector = ak.Input(name="overview__minilm")
        >>> encoded = ak.EncoderChoice(["pretrained", "scratch"])([vector, ak.TextBlock()(text)])
    """

    accepts = ("vector", "image", "structured")
    multi_input = True

    def __init__(self, options: list[str], choice: str | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        if not options or len(set(options)) != len(options):
            raise InputError(f"EncoderChoice options={options!r}; give one distinct name per input node.")
        if choice is not None and choice not in options:
            raise InputError(f"EncoderChoice choice={choice!r} is not one of {options}.")
        self.options, self.fixed = list(options), choice

    def build(self, hp, inputs, sources):
        if len(inputs) != len(self.options):
            raise InputError(f"EncoderChoice {self.name} has {len(self.options)} options but {len(inputs)} inputs.")
        chosen = self.choice(hp, "encoder", self.fixed, self.options)
        self.chosen = chosen  # read by Fusion, which keeps pretrained embeddings out of modality dropout
        x = inputs[self.options.index(chosen)]
        check_numeric(x, self)
        x = to_vector(x)
        return keras.ops.cast(x, "float32") if x.dtype != "float32" else x
