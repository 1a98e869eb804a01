"""Searchable blocks, one module per family; all re-exported here and from `components`."""

from components.blocks.fusion import Fusion
from components.blocks.general import Block, DenseBlock, Merge
from components.blocks.image import ConvBlock, ImageAugmentation, ImageBlock, Normalization, ResNetBlock
from components.blocks.tabular import CategoricalToNumerical, StructuredDataBlock
from components.blocks.text import TextBlock

__all__ = [
    "Block",
    "CategoricalToNumerical",
    "ConvBlock",
    "DenseBlock",
    "Fusion",
    "ImageAugmentation",
    "ImageBlock",
    "Merge",
    "Normalization",
    "ResNetBlock",
    "StructuredDataBlock",
    "TextBlock",
]
