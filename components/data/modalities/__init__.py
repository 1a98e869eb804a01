"""Modality registry: each modality (and each target task) is one `Codec` in one module.

A codec owns everything Braid does with one kind of column:

- fitting: `fitter(spec)` returns an accumulator with `update(values)` (called once per batch of
  TRAIN rows, so fitting streams in bounded memory) and `finalize() -> dict` (JSON-able state);
- transforming: `transform(spec, fitted, values, ctx) -> np.ndarray` gives model-ready values;
- storing: `encode` gives one stored value per row, `tf_feature` wraps one of them in a
  `tf.train.Feature`, `parse_spec`/`decode` read it back in tf.data, `parquet_columns` gives the
  columns written to the tabular Parquet files.

Codecs register themselves by name (`@MODALITIES.register`, `components.features.registry`); the
rest of Braid looks them up with `codec_for` and never branches on a modality's name. Adding a
modality = its shared statistics in `components.features.<name>` + one module here, imported below.

Example:
    >>> from components.data.contract import feature_spec
    >>> feature = feature_spec(name="price", modality="numerical")
    >>> codec = codec_for(feature)
    >>> fit = codec.fitter(feature); fit.update(pd.Series(["1", "3"])); fitted = fit.finalize()
    >>> codec.transform(feature, fitted, pd.Series([2.0, None]), TransformContext())
    array([[0., 0.], [0., 1.]], dtype=float32)
"""

from __future__ import annotations

from components.data.modalities.base import Codec, RowError, TransformContext, float_feature
from components.data.spec import FeatureSpec
from components.features.registry import MODALITIES

# Importing a module registers its codec; this order is the order a contract error lists modalities in.
# isort: off
from components.data.modalities import image, text, numerical, categorical, datetime, timeseries, audio  # noqa: F401
# isort: on

__all__ = ["Codec", "RowError", "TransformContext", "codec_for", "feature_models", "float_feature", "modality_names"]


def codec_for(feature) -> Codec:
    """The codec of a contract feature (by its `modality`)."""
    return MODALITIES.lookup(feature.modality, f"feature '{feature.name}'")


def modality_names() -> list[str]:
    return MODALITIES.names()


def feature_models() -> tuple[type[FeatureSpec], ...]:
    """Each registered modality's options model, in registration order (the order a contract error
    lists them): the contract's features are their union."""
    return tuple(codec.options for codec in MODALITIES.values())
