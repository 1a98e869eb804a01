"""Images: the per-channel pixel statistics a model normalises with.

Preprocessing stores each image resized to the contract's size (uint8 RGB, `components.data.modalities.
image`); the library learns the pixels' mean and spread per channel from the training images it is given
(the preprocessed ones, in the pipeline), and normalises inside the model, so an exported model takes
raw pixels.
"""

from __future__ import annotations

import numpy as np

MIN_PIXEL_STD = 1e-3  # a flat channel (all one value) is scaled by this, not divided by zero


def pixel_stats(images: np.ndarray) -> dict:
    """Per-channel mean and std of `[N, H, W, C]` images."""
    pixels = images.reshape(-1, images.shape[-1]).astype("float64")
    return {"mean": pixels.mean(axis=0).tolist(), "std": np.maximum(pixels.std(axis=0), MIN_PIXEL_STD).tolist()}
