"""Loading exported models: the one place that makes Braid's custom layers known to Keras.

An exported `.keras` file names layers such as `braid>TableEncoder`; Keras can only rebuild them
once their modules are imported. `load_model` does that and always loads with `safe_mode=True`.

Example:
    >>> model = load_model("model.keras")   # or keras.models.load_model(p, custom_objects=CUSTOM_OBJECTS)
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any


def custom_objects() -> dict[str, Any]:
    """Braid's serialisable layers by class name (AutoKeras's `CUSTOM_OBJECTS`)."""
    from components.automl.blocks.audio import LogMel, SpecAugment
    from components.automl.blocks.fusion import ModalityEmbedding
    from components.automl.blocks.tabular import TableEncoder
    from components.automl.blocks.text import PositionEmbedding, TfIdf, standardize_text
    from components.automl.blocks.timeseries import MaskedPooling, SeriesScaling
    from components.automl.heads import ClassificationOutput, Destandardize

    objects = (
        ModalityEmbedding,
        TableEncoder,
        PositionEmbedding,
        TfIdf,
        SeriesScaling,
        MaskedPooling,
        LogMel,
        SpecAugment,
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


class _SeveralModelsAreNotRetracing(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls to <...make_predict_function...> triggered tf.function
    retracing" warning. Its detector counts traces by the Python code traced, across every model: Braid
    loads several models on purpose (the ensemble's trials, the challenger and the champion, the pyfunc's
    validation), and each traces its own predict step once; that is not the repeated retracing of one
    function the warning is about. Other retracing warnings (a train step, user code) still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "make_predict_function" in message)


def load_model(path: str | Path) -> Any:
    """Load an exported Braid model (`.keras`) safely, in any process."""
    import keras

    quiet_predict_retracing()
    return keras.saving.load_model(str(path), custom_objects=custom_objects(), safe_mode=True)


def quiet_predict_retracing() -> None:
    """Drop TensorFlow's retracing warning about predict steps (`_SeveralModelsAreNotRetracing`) from this
    process on: called by `load_model` and by a search, which loads its trials' models to ensemble them."""
    tf_logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _SeveralModelsAreNotRetracing) for f in tf_logger.filters):
        tf_logger.addFilter(_SeveralModelsAreNotRetracing())
