"""No code path of the encoders reaches for the network: loading, converting and embedding run offline."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest

import components.encoders as enc
from tests.components.encoders.network_guard import no_network


def test_loading_and_converting_attempted_no_network(encoders):
    # The session fixture built both encoders (and converted the image weights) under `no_network()`.
    assert encoders.network_attempts == []


def test_embedding_attempts_no_network(encoders):
    with no_network() as attempts:
        texts = enc.embed_texts(["offline by construction", ""])
        images = enc.embed_images(np.full((2, 64, 64, 3), 90, np.uint8), home=encoders.home)
    assert attempts == []
    assert texts.shape == (2, 384) and images.shape == (2, 1280)


def test_the_guard_really_blocks_connections():
    with no_network() as attempts, pytest.raises(OSError, match="network access attempted"):
        socket.create_connection(("127.0.0.1", 9))
    assert attempts


def test_hub_libraries_are_told_to_stay_offline():
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
