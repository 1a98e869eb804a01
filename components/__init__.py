"""Braid's model library: an AutoKeras-compatible AutoModel for multimodal, multi-task data.

`import components as ak` runs AutoKeras code such as the multi-modal,
multi-task tutorial unchanged. Quick start (runs on a CPU in well under a minute):

    import numpy as np
    import components as ak

    images = np.random.rand(64, 32, 32, 3).astype("float32")
    table = np.random.rand(64, 20).astype("float32")
    price = np.random.rand(64, 1)
    kind = np.random.randint(5, size=(64, 1))

    auto_model = ak.AutoModel(
        inputs=[ak.ImageInput(name="image"), ak.StructuredDataInput(name="tabular")],
        outputs=[
            ak.RegressionHead(name="price", metrics=["mae"]),
            ak.ClassificationHead(name="kind", metrics=["accuracy"]),
        ],
        max_trials=2, overwrite=True, seed=0,
    )
    auto_model.fit([images, table], [price, kind], epochs=1)
    price_pred, kind_pred = auto_model.predict([images, table])
    print(auto_model.evaluate([images, table], [price, kind]))
    model = auto_model.export_model()          # plain keras.Model, preprocessing inside
    model.save("model.keras")                  # reload in any process: ak.load_model("model.keras")

Inputs may also be dicts keyed by node names, pandas DataFrames (string
categorical and text columns) or a `tf.data.Dataset` of `(x, y)` tuples or dicts.
"""

import importlib
import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # Braid's version (pyproject.toml), not the AutoKeras release it mirrors

# Every Braid process imports this package before TensorFlow starts, so the CPU split into logical
# devices (tests of the multi-device path) happens here. Only the variable's presence is checked: its
# value is read by `Settings`, whose import is too slow to pay on every `import components.errors`.
if os.environ.get("BRAID_CPU_LOGICAL_DEVICES"):
    from components.devices import apply_settings

    apply_settings()

# OpenMP threads (scikit-learn's gradient boosting) sleep while they wait instead of spinning: a spinning
# thread holds its core while the thread it waits for is descheduled, so on a shared machine every sync
# waits out a time slice (60,000 rows, 200 absolute-error rounds, 2 threads at load 11 on 2 cores:
# 220 s spinning, 4.3 s passive, 9.7 s on one thread). Read when the OpenMP runtime loads, so it is set
# before anything imports scikit-learn; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# The public names load on first use: `import components.errors` (the CLI, validation) must not pay
# for TensorFlow, which the model library needs.
_HOMES = {
    "components.automl.blocks": (
        "AudioBlock",
        "Block",
        "CategoricalToNumerical",
        "ConvBlock",
        "DenseBlock",
        "EfficientNetBlock",
        "EncoderChoice",
        "Embedding",
        "Flatten",
        "Fusion",
        "ImageAugmentation",
        "ImageBlock",
        "Merge",
        "Normalization",
        "PretrainedImageEncoder",
        "PretrainedTextEncoder",
        "RNNBlock",
        "ResNetBlock",
        "SpatialReduction",
        "StructuredDataBlock",
        "TemporalReduction",
        "TextBlock",
        "TextToIntSequence",
        "TimeseriesBlock",
        "XceptionBlock",
    ),
    "components.automl.heads": ("ClassificationHead", "Head", "RegressionHead"),
    "components.automl.nodes": (
        "AudioInput",
        "ImageInput",
        "Input",
        "Node",
        "StructuredDataInput",
        "TextInput",
        "TimeseriesInput",
    ),
    "components.automl.auto_model": ("AutoModel",),
    "components.automl.tasks": (
        "AudioClassifier",
        "ImageClassifier",
        "ImageRegressor",
        "StructuredDataClassifier",
        "StructuredDataRegressor",
        "TextClassifier",
        "TextRegressor",
        "TimeseriesClassifier",
        "TimeseriesRegressor",
    ),
    "components.automl.tuners": ("BayesianOptimization", "Greedy", "Hyperband", "RandomSearch"),
    "components.automl.export": ("load_model",),
}
if TYPE_CHECKING:  # what tools follow; at run time each name loads on first use (`__getattr__`)
    from components.automl.auto_model import AutoModel
    from components.automl.blocks import (
        AudioBlock,
        Block,
        CategoricalToNumerical,
        ConvBlock,
        DenseBlock,
        EfficientNetBlock,
        Embedding,
        EncoderChoice,
        Flatten,
        Fusion,
        ImageAugmentation,
        ImageBlock,
        Merge,
        Normalization,
        PretrainedImageEncoder,
        PretrainedTextEncoder,
        ResNetBlock,
        RNNBlock,
        SpatialReduction,
        StructuredDataBlock,
        TemporalReduction,
        TextBlock,
        TextToIntSequence,
        TimeseriesBlock,
        XceptionBlock,
    )
    from components.automl.export import load_model
    from components.automl.heads import ClassificationHead, Head, RegressionHead
    from components.automl.nodes import (
        AudioInput,
        ImageInput,
        Input,
        Node,
        StructuredDataInput,
        TextInput,
        TimeseriesInput,
    )
    from components.automl.tasks import (
        AudioClassifier,
        ImageClassifier,
        ImageRegressor,
        StructuredDataClassifier,
        StructuredDataRegressor,
        TextClassifier,
        TextRegressor,
        TimeseriesClassifier,
        TimeseriesRegressor,
    )
    from components.automl.tuners import BayesianOptimization, Greedy, Hyperband, RandomSearch

_WHERE = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name == "CUSTOM_OBJECTS":
        from components.automl.export import custom_objects

        return custom_objects()
    if name not in _WHERE:
        raise AttributeError(f"module 'components' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_WHERE) + ["CUSTOM_OBJECTS"])


__all__ = sorted(_WHERE) + ["CUSTOM_OBJECTS", "__version__"]
