"""Pretrained encoders as blocks: MiniLM for text, EfficientNet-Lite0 for images (`components.encoders`).

The encoder lives inside the model (fine-tune mode): frozen by default, its top layers trainable with
`trainable_layers` / `trainable_blocks` (for GPUs: on 2 CPU cores the pipeline's frozen mode, which
computes embeddings once in preprocessing, is the one that pays). Weights come from the packages of
the `braid[pretrained]` extra; nothing is downloaded.
"""

from __future__ import annotations

from typing import Any

import keras

from components.automl.blocks.general import Block
from components.errors import InputError


def _named(model: keras.Model, block: Block, what: str) -> keras.Model:
    # The encoder nested under a name of this block's, so its own input's name (e.g. "text") and a second
    # encoder in the same graph never clash with the graph's names.
    name = f"{block.name}_{what}".replace("/", "_")
    inner = keras.Input(shape=model.input.shape[1:], dtype=model.input.dtype, name=f"{name}_input")
    return keras.Model(inner, model(inner), name=name)


class PretrainedTextEncoder(Block):
    """all-MiniLM-L6-v2 sentence embeddings (384-d) of a text input.

    Args:
        max_length: tokens per text (longer text is truncated); 128 when None.
        trainable_layers: transformer layers trained from the top; 0 (frozen) when None.
    """

    accepts = ("text",)

    def __init__(
        self, max_length: int | None = None, trainable_layers: int | None = None, name: str | None = None, **kwargs: Any
    ):
        super().__init__(name=name, **kwargs)
        self.max_length, self.trainable_layers = max_length, trainable_layers

    def build(self, hp, inputs, sources):
        from components.encoders import text_encoder

        encoder = text_encoder(max_length=self.max_length or 128, trainable_layers=self.trainable_layers or 0)
        return _named(encoder, self, "minilm")(keras.ops.reshape(inputs[0], (-1,)))


class PretrainedImageEncoder(Block):
    """EfficientNet-Lite0 ImageNet features (1280-d) of an image input (pixels in [0, 255]).

    Args:
        trainable_blocks: MBConv blocks trained from the top; 0 (frozen) when None.
    """

    accepts = ("image",)

    def __init__(self, trainable_blocks: int | None = None, name: str | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        self.trainable_blocks = trainable_blocks

    def build(self, hp, inputs, sources):
        from components.encoders import image_encoder

        x = inputs[0]
        if x.shape[-1] not in (1, 3):
            raise InputError(
                f"PretrainedImageEncoder {self.name} needs RGB or grayscale images; got {x.shape[-1]} channels."
            )
        if x.shape[-1] == 1:
            x = keras.ops.repeat(x, 3, axis=-1)
        encoder = image_encoder(image_size=(x.shape[1], x.shape[2]), trainable_blocks=self.trainable_blocks or 0)
        return _named(encoder, self, "efficientnet_lite0")(x)
