"""Target tasks, one module each (classification, multilabel, regression), registered by name.

Each task codec learns its encoding from the TRAIN rows (classes, label list, mean/std), encodes y the
way the heads expect — class index (int64), multi-hot (float32 [L]) or the raw value (float32) — and
owns decoding, metrics, baseline and plot (`base.TaskCodec`). Rows with a missing or unknown target
are encoded as -1 (classification) or NaN (regression) and counted in the context's issues; an empty
multilabel cell is the empty label set (all zeros). Nothing else in Braid branches on a task's name.
"""

from __future__ import annotations

from components.data.tasks.base import PROBA_SUFFIX, TaskCodec
from components.data.tasks.classification import Classification
from components.data.tasks.multilabel import Multilabel, label_lists, label_sets_to_multi_hot
from components.data.tasks.regression import Regression
from components.errors import ContractError

TASKS: dict[str, TaskCodec] = {codec.name: codec for codec in (Classification(), Multilabel(), Regression())}


def codec_for_target(target) -> TaskCodec:
    """The codec of a contract target (by its `task`)."""
    try:
        return TASKS[target.task]
    except KeyError:
        raise ContractError(f"target '{target.name}': no task '{target.task}' (known: {sorted(TASKS)})") from None


__all__ = ["PROBA_SUFFIX", "TASKS", "TaskCodec", "codec_for_target", "label_lists", "label_sets_to_multi_hot"]
