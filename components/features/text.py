"""Text columns: cleaning a cell to valid UTF-8, its tokens, and the train vocabulary.

Preprocessing stores the cleaned string and records the vocabulary; the library's text blocks tokenise
inside the model (`components.automl.blocks.text.standardize_text`), so an exported model takes raw text.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

import pandas as pd

from components.features.common import merged_counts, prune, ranked

MAX_TOKENS = 20_000  # the vocabulary a text encoder learns from train, most frequent first

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value) -> str:
    """One cell as valid UTF-8 text: bytes decoded with replacement, control characters and
    surplus whitespace removed, missing as ""."""
    if value is None or (not isinstance(value, (str, bytes)) and pd.isna(value)):
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    # Lone surrogates (from badly decoded files) cannot be encoded; replace them.
    value = str(value).encode("utf-8", errors="replace").decode("utf-8")
    return " ".join(_CONTROL.sub(" ", value).split())


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class TokenCounts:
    """Token frequencies on the training rows, streamed; `finalize` keeps the `max_tokens` most frequent."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self.counts: Counter = Counter()
        self.rows, self.empty, self.total_tokens = 0, 0, 0

    def update(self, values: pd.Series) -> None:
        for value in values.astype(object):
            words = tokens(clean_text(value))
            self.rows += 1
            self.empty += not words
            self.total_tokens += len(words)
            self.counts.update(words)
        prune(self.counts, self._limit())

    def _limit(self) -> int:
        return max(100_000, 10 * self.max_tokens)

    def finalize(self) -> dict:
        return {
            "vocabulary": ranked(self.counts, self.max_tokens),
            "rows": self.rows,
            "empty": self.empty,
            "mean_tokens": self.total_tokens / self.rows if self.rows else 0.0,
        }

    @classmethod
    def merge(cls, parts: Sequence[TokenCounts]) -> TokenCounts:
        """The parts' token counts and row tallies summed: the same vocabulary as one pass."""
        out = cls(parts[0].max_tokens)
        out.counts = merged_counts([p.counts for p in parts], out._limit())
        out.rows, out.empty = sum(p.rows for p in parts), sum(p.empty for p in parts)
        out.total_tokens = sum(p.total_tokens for p in parts)
        return out
