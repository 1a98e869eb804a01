"""Target tasks, one module each (classification, multilabel, regression), registered by name.

Each task codec learns its encoding from the TRAIN rows (classes, label list, mean/std), encodes y the
way the heads expect — class index (int64), multi-hot (float32 [L]) or the raw value (float32) — and
owns decoding, metrics, baseline and plot (`base.TaskCodec`). Rows with a missing or unknown target
are encoded as -1 (classification) or NaN (regression) and counted in the context's issues; an empty
multilabel cell is the empty label set (all zeros). Each codec also names the library head that learns
its target (`head`, `head_options`). Nothing else in Braid branches on a task's name.
"""

from __future__ import annotations

from components.data.tasks import classification, multilabel, regression  # noqa: F401 (registers the codecs)
from components.data.tasks.base import PROBA_SUFFIX, TaskCodec
from components.data.tasks.multilabel import label_lists, label_sets_to_multi_hot
from components.features.registry import TASKS


def codec_for_target(target) -> TaskCodec:
    """The codec of a contract target (by its `task`)."""
    return TASKS.lookup(target.task, f"target '{target.name}'")


__all__ = ["PROBA_SUFFIX", "TASKS", "TaskCodec", "codec_for_target", "label_lists", "label_sets_to_multi_hot"]
