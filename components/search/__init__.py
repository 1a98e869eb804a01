"""Model search: `AutoModel` (fit / predict / evaluate / export) on keras-tuner."""

from components.search.automodel import AutoModel

__all__ = ["AutoModel"]
