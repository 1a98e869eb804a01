"""Image cells: a base64 data URI is an image's bytes, as a JSON client sends them."""

import base64
from io import BytesIO

import pytest
from PIL import Image

from components.data.images import ImageProblem, locate


def _png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (4, 4), (255, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_base64_data_uri_is_the_images_bytes():
    png = _png()
    assert locate("data:image/png;base64," + base64.b64encode(png).decode(), None) == png


@pytest.mark.parametrize(
    "cell, words",
    [
        ("data:image/png;base64,@@not-base64@@", "does not decode"),
        ("data:image/png,rawtext", "not base64"),
        ("data:image/png;base64,", "empty"),
    ],
)
def test_bad_data_uris_say_what_is_wrong(cell, words):
    with pytest.raises(ImageProblem, match=words):
        locate(cell, None)
