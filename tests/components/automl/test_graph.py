"""The graph wires default encoders and fusion, checks wiring, and builds one model per hyperparameter set."""

import keras_tuner as kt
import numpy as np
import pytest

import components as ak
from components.automl.adapters import fit_node
from components.automl.blocks import Fusion, ImageBlock, StructuredDataBlock
from components.automl.graph import Graph
from components.errors import InputError


def fitted_inputs():
    image, table = ak.ImageInput(name="image"), ak.StructuredDataInput(name="table")
    fit_node(image, np.random.rand(8, 8, 8, 3))
    fit_node(table, np.random.rand(8, 4).astype("float32"))
    return image, table


def test_default_graph_has_one_encoder_per_input_and_a_fusion():
    image, table = fitted_inputs()
    head = ak.RegressionHead(name="score")
    head.fit_targets(np.random.rand(8, 1))
    graph = Graph([image, table], [head])
    kinds = [type(b) for b in graph.blocks]
    assert ImageBlock in kinds and StructuredDataBlock in kinds and Fusion in kinds
    model = graph.build(kt.HyperParameters())
    assert [i.name for i in model.inputs] == ["image", "table"] and model.output_names == ["score"]


def test_input_missing_from_inputs_is_reported():
    image, table = fitted_inputs()
    head = ak.RegressionHead()(ak.Merge()([ak.DenseBlock()(table), ak.ConvBlock()(image)]))
    with pytest.raises(InputError, match="missing from AutoModel"):
        Graph([table], [head.block])


def test_unused_input_is_reported():
    image, table = fitted_inputs()
    head = ak.RegressionHead()(ak.DenseBlock()(table))
    with pytest.raises(InputError, match="not connected"):
        Graph([image, table], [head.block])


def test_blocks_get_unique_names_and_scoped_hyperparameters():
    image, table = fitted_inputs()
    head = ak.ClassificationHead()
    head.name = "label"
    head.fit_targets(np.array([0, 1, 2, 1]))
    head(ak.Merge()([ak.ConvBlock()(image), ak.ConvBlock()(image)]))
    graph = Graph([image], [head])
    hp = kt.HyperParameters()
    graph.build(hp)
    assert {"conv_block_1/filters", "conv_block_2/filters", "merge_1/merge_type"} <= set(hp.values)
