"""Blocks build into Keras layers, check what they are wired to, and keep preprocessing inside the model."""

import keras
import keras_tuner as kt
import numpy as np
import pytest
import tensorflow as tf

import components as ak
from components.automl.adapters import fit_node
from components.automl.blocks.tabular import TableEncoder
from components.errors import InputError


def build(block, node, sample):
    fit_node(node, sample)
    node.name = node.name or "x"
    block.name = "block"
    out = block.build(kt.HyperParameters(), [node.keras_input()], [node])
    return out


def test_conv_block_on_text_is_an_input_error():
    with pytest.raises(InputError, match="ConvBlock cannot take a 'text' node"):
        ak.ConvBlock()(ak.TextInput())


def test_dense_block_on_string_table_asks_for_categorical_encoding():
    node = ak.StructuredDataInput(name="t")
    sample = np.array([["a", "1.0"], ["b", "2.0"]], dtype=object)
    node.column_types = {"column_0": "categorical", "column_1": "numerical"}
    with pytest.raises(InputError, match="CategoricalToNumerical"):
        build(ak.DenseBlock(), node, sample)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_resnet_is_small_and_from_scratch(version):
    out = build(ak.ResNetBlock(version=version), ak.ImageInput(name="i"), np.random.rand(4, 16, 16, 3))
    assert len(out.shape) == 4
    with pytest.raises(InputError, match="pretrained"):
        ak.ResNetBlock(pretrained=True)


@pytest.mark.parametrize("block_type", ["ngram", "vanilla", "transformer"])
def test_text_block_vectorises_inside_the_model(block_type):
    node = ak.TextInput(name="text")
    out = build(ak.TextBlock(block_type=block_type), node, np.array(["a good film", "a bad film"]))
    assert out.shape[-1] in (32, 64) and node.stats["vocabulary"][:1]


@pytest.mark.parametrize("fusion_type", ["concatenate", "attention", "gated"])
def test_fusion_types_give_one_vector(fusion_type):
    a, b = keras.Input((5,)), keras.Input((7,))
    fusion = ak.Fusion(fusion_type=fusion_type)
    fusion.name = "fusion"
    out = fusion.build(kt.HyperParameters(), [a, b], [None, None])
    assert len(out.shape) == 2
    model = keras.Model([a, b], out)
    assert model.predict([np.ones((2, 5)), np.ones((2, 7))], verbose=0).shape[0] == 2


def test_table_encoder_takes_raw_strings_and_survives_safe_mode(tmp_path):
    columns = [
        {"name": "color", "type": "categorical", "vocabulary": ["blue", "red"]},
        {"name": "year", "type": "numerical", "mean": 2000.0, "std": 10.0},
    ]
    inputs = keras.Input((2,), dtype="string")
    model = keras.Model(inputs, TableEncoder(columns, string_input=True)(inputs))
    rows = tf.constant([["red", "2010"], ["green", ""]])
    encoded = model.predict(rows, verbose=0)
    assert encoded.tolist() == [[0, 0, 1, 1.0], [1, 0, 0, 0.0]]  # OOV first, missing year → mean
    model.save(tmp_path / "enc.keras")
    again = keras.models.load_model(tmp_path / "enc.keras", safe_mode=True)
    assert np.array_equal(again.predict(rows, verbose=0), encoded)
