"""EfficientNet-Lite0 features: a faithful port, deterministic, sensible under flips, robust to odd images."""

from __future__ import annotations

import os
import sys

import h5py
import numpy as np
import pytest

import components.encoders as enc
from components.encoders import convert
from components.errors import InputError, MissingExtraError


def _scene(seed: int) -> np.ndarray:
    """A 64x64 uint8 picture with an off-centre disc and a diagonal gradient, so flipping it changes it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64]
    image = np.stack([xx * 3, yy * 2, (xx + yy) * 2], axis=-1).astype(np.float32) * rng.uniform(0.5, 1.5, 3)
    cy, cx, radius = rng.integers(12, 30), rng.integers(8, 24), rng.integers(6, 12)
    image[(yy - cy) ** 2 + (xx - cx) ** 2 < radius**2] = rng.integers(0, 256, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def _stripes() -> np.ndarray:
    image = np.zeros((64, 64, 3), np.uint8)
    image[::4] = (255, 40, 0)
    return image


def test_features_are_deterministic(encoders):
    images = np.stack([_scene(0), _scene(1)])
    first = enc.embed_images(images, home=encoders.home)
    assert first.shape == (2, 1280) and first.dtype == np.float32
    np.testing.assert_array_equal(first, enc.embed_images(images, home=encoders.home))


def test_flipped_copy_is_closer_than_an_unrelated_image(encoders):
    scene = _scene(0)
    original, flipped, unrelated = enc.embed_images(np.stack([scene, scene[:, ::-1], _stripes()]), home=encoders.home)
    assert _cosine(original, flipped) > _cosine(original, unrelated) + 0.1


def test_grayscale_alpha_and_tiny_images(encoders):
    gray = _scene(2)[..., 0]
    as_rgb = enc.embed_images(np.repeat(gray[None, ..., None], 3, axis=-1), home=encoders.home)
    np.testing.assert_array_equal(enc.embed_images(gray[None], home=encoders.home), as_rgb)
    np.testing.assert_array_equal(enc.embed_images(gray[None, ..., None], home=encoders.home), as_rgb)

    scene = _scene(3)
    opaque = np.concatenate([scene, np.full((64, 64, 1), 255, np.uint8)], axis=-1)
    clear = np.concatenate([scene, np.zeros((64, 64, 1), np.uint8)], axis=-1)
    white = np.full((64, 64, 3), 255, np.uint8)
    with_alpha = enc.embed_images(np.stack([opaque, clear]), home=encoders.home)
    np.testing.assert_allclose(with_alpha, enc.embed_images(np.stack([scene, white]), home=encoders.home), atol=1e-5)

    tiny = enc.embed_images(np.full((2, 4, 3, 3), 128, np.uint8), home=encoders.home)  # raised to 32x32
    assert tiny.shape == (2, 1280) and np.isfinite(tiny).all()


def test_mixed_sizes_need_an_image_size(encoders):
    images = [_scene(4), _scene(5)[:40, :50]]
    with pytest.raises(InputError, match="image_size"):
        enc.embed_images(images, home=encoders.home)
    assert enc.embed_images(images, image_size=(64, 64), home=encoders.home).shape == (2, 1280)
    with pytest.raises(InputError, match=r"images\[0\]"):
        enc.embed_images([np.zeros((8, 8, 2))], home=encoders.home)


def test_port_matches_a_pytorch_forward_of_the_packaged_state_dict(encoders):
    torch = pytest.importorskip("torch")
    from tests.components.encoders.torch_reference import lite0_logits_and_features

    images = np.stack([_scene(6), _scene(7)])
    model = enc.image_encoder((64, 64), include_top=True, home=encoders.home)
    state = torch.load(convert.pth_path(), map_location="cpu", weights_only=True)
    pixels = torch.from_numpy(images.astype(np.float32)).permute(0, 3, 1, 2)
    with torch.no_grad():
        logits, features = lite0_logits_and_features(state, pixels)
    np.testing.assert_allclose(model.predict(images, verbose=0), logits.numpy(), atol=1e-3)
    np.testing.assert_allclose(enc.embed_images(images, home=encoders.home), features.numpy(), atol=1e-4)


def test_image_encoder_reloads_from_keras_file_in_safe_mode(encoders, tmp_path):
    import keras

    images = np.stack([_scene(8)])
    encoders.image_model.save(tmp_path / "lite0.keras")
    reloaded = keras.saving.load_model(tmp_path / "lite0.keras", safe_mode=True)
    np.testing.assert_allclose(
        reloaded.predict(images, verbose=0), encoders.image_model.predict(images, verbose=0), atol=1e-6
    )


def test_weight_cache_is_reused_and_rebuilt_when_stale(encoders, tmp_path):
    path = convert.ensure_weights(encoders.home)
    assert path == encoders.home / "encoders" / "efficientnet_lite0.weights.h5"
    stamp = os.stat(path).st_mtime_ns
    assert convert.ensure_weights(encoders.home) == path and os.stat(path).st_mtime_ns == stamp

    stale = tmp_path / "encoders" / "efficientnet_lite0.weights.h5"
    stale.parent.mkdir()
    with h5py.File(stale, "w") as file:
        file.attrs["format_version"] = -1
    convert.ensure_weights(tmp_path)
    with h5py.File(stale, "r") as file:
        assert file.attrs["format_version"] == convert.FORMAT_VERSION and "head_conv" in file


def test_conversion_without_torch_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtraError, match=r"braid\[pretrained\]"):
        convert.ensure_weights(tmp_path)


def test_fine_tune_mode_frees_only_the_top_blocks(encoders):
    assert encoders.image_model.trainable_weights == []
    model = enc.image_encoder((64, 64), trainable_blocks=2, home=encoders.home)
    trainable = {weight.path.split("/")[0] for weight in model.trainable_weights}
    assert trainable == {
        "block14_expand_conv",
        "block14_expand_bn",
        "block14_dw_conv",
        "block14_dw_bn",
        "block14_project_conv",
        "block14_project_bn",
        "block15_expand_conv",
        "block15_expand_bn",
        "block15_dw_conv",
        "block15_dw_bn",
        "block15_project_conv",
        "block15_project_bn",
        "head_conv",
        "head_bn",
    }
