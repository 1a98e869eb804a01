"""Searchable blocks, one module per family; all re-exported here and from `components`."""

from components.automl.blocks.audio import AudioBlock
from components.automl.blocks.choice import EncoderChoice
from components.automl.blocks.fusion import Fusion
from components.automl.blocks.general import Block, DenseBlock, Merge
from components.automl.blocks.image import ConvBlock, ImageAugmentation, ImageBlock, Normalization, ResNetBlock
from components.automl.blocks.image_nets import EfficientNetBlock, XceptionBlock
from components.automl.blocks.pretrained import PretrainedImageEncoder, PretrainedTextEncoder
from components.automl.blocks.reduction import Flatten, SpatialReduction, TemporalReduction
from components.automl.blocks.sequence import Embedding, RNNBlock, TextToIntSequence
from components.automl.blocks.tabular import CategoricalToNumerical, StructuredDataBlock
from components.automl.blocks.text import TextBlock
from components.automl.blocks.timeseries import TimeseriesBlock

__all__ = [
    "AudioBlock",
    "Block",
    "CategoricalToNumerical",
    "ConvBlock",
    "DenseBlock",
    "EfficientNetBlock",
    "Embedding",
    "EncoderChoice",
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
]
