"""Loading exported models: the one place that makes Braid's custom layers known to Keras.

An exported `.keras` file names layers such as `braid>TableEncoder`; Keras can only rebuild them
once their modules are imported. `load_model` does that and always loads with `safe_mode=True`.

Example:
    >>> model = load_model("model.keras")   # or keras.models.load_model(p, custom_objects=CUSTOM_OBJECTS)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def custom_objects() -> dict[str, Any]:
    """Braid's serialisable layers by class name (AutoKeras's `CUSTOM_OBJECTS`)."""
    from components.automl.blocks.fusion import ModalityEmbedding
    from components.automl.blocks.tabular import TableEncoder
    from components.automl.blocks.text import PositionEmbedding, TfIdf, standardize_text
    from components.automl.heads import ClassificationOutput, Destandardize

    objects = (ModalityEmbedding, TableEncoder, PositionEmbedding, TfIdf, ClassificationOutput, Destandardize, standardize_text)
    return {obj.__name__: obj for obj in objects}


def load_model(path: str | Path) -> Any:
    """Load an exported Braid model (`.keras`) safely, in any process."""
    import keras

    return keras.saving.load_model(str(path), custom_objects=custom_objects(), safe_mode=True)
