"""Loading exported models: the one place that makes Braid's custom layers known to Keras.

An exported `.keras` file names layers such as `braid>TableEncoder`; Keras can only rebuild them
once their modules are imported. `load_model` does that and always loads with `safe_mode=True`.

Example:
    >>> model = load_model("model.keras")   # or keras.models.load_model(p, custom_objects=CUSTOM_OBJECTS)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


def custom_objects() -> dict[str, Any]:
    """Braid's serialisable layers by class name (AutoKeras's `CUSTOM_OBJECTS`)."""
    from components.automl.blocks.fusion import ModalityEmbedding
    from components.automl.blocks.tabular import TableEncoder
    from components.automl.blocks.text import PositionEmbedding, TfIdf, standardize_text
    from components.automl.heads import ClassificationOutput, Destandardize

    objects = (
        ModalityEmbedding,
        TableEncoder,
        PositionEmbedding,
        TfIdf,
        ClassificationOutput,
        Destandardize,
        standardize_text,
    )
    found = {obj.__name__: obj for obj in objects}
    # Pretrained encoders' layers (and keras-hub's backbone) register themselves on import; they are only
    # there with the `pretrained` extra, and a model without encoders does not need them.
    if importlib.util.find_spec("keras_hub") is not None:
        from components.encoders import layers

        found.update({obj.__name__: obj for obj in (layers.TextPacker, layers.MaskedMeanPooling, layers.PixelScaling)})
    return found


def load_model(path: str | Path) -> Any:
    """Load an exported Braid model (`.keras`) safely, in any process."""
    import keras

    return keras.saving.load_model(str(path), custom_objects=custom_objects(), safe_mode=True)
