"""Pretrained encoders that ship inside Python packages, usable offline: MiniLM for text and
EfficientNet-Lite0 for images.

Each comes two ways: a Keras model to put inside a Braid model (fine-tune mode, or served by TensorFlow
alone) and an `embed_*` function for frozen mode (embeddings computed once per row). Importing this
package needs none of the optional packages; `require(name)` says which extra to install. It registers
the encoders' Keras layers, so exported models that contain them reload.
"""

from components.encoders.offline import force_offline

force_offline()

from components.encoders import layers  # noqa: E402,F401  (registers the Keras layers)
from components.encoders.image import embed_images, image_encoder  # noqa: E402
from components.encoders.registry import ENCODERS, EXTRA, EncoderSpec, is_available, missing_packages, require, spec  # noqa: E402
from components.encoders.text import embed_texts, text_encoder  # noqa: E402

__all__ = [
    "ENCODERS",
    "EXTRA",
    "EncoderSpec",
    "embed_images",
    "embed_texts",
    "force_offline",
    "image_encoder",
    "is_available",
    "missing_packages",
    "require",
    "spec",
    "text_encoder",
]
