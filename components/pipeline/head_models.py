"""Per head, the best of three on validation data: the searched network, the classical model fitted on
the same split (`components.evaluation.classical`: gradient-boosted trees on numbers, categories and
dates; TF-IDF + logistic regression for multi-label heads), or their weighted average.

The rule is `components.evaluation.blend.choose_head_model`, shared with the library's
`AutoModel(head_models=...)`: the network's outputs from before its refit (`AutoModel.validation_outputs`)
against the classical model fitted on the train rows, by the head's validation loss
(`automl.ensemble.choice_loss`: a multi-label head's is 1 - micro-F1 at tuned thresholds); a served
classical model is then refitted on train + validation rows, as the network's trials are
(`training.refit`). This module reads the run's splits for it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from components.automl.ensemble import choice_criterion, choice_loss
from components.data import records
from components.data.contract import Contract
from components.errors import InputError, SearchError
from components.evaluation.blend import Blend, HeadChoice, choose_head_model
from components.evaluation.classical import ClassicalModel
from components.pipeline.classical import classical_columns, media_located
from components.pipeline.rows import bounded_split

# The tasks whose classical baseline (`fit_classical`) is the model the head choice fits on the same rows;
# a multi-label baseline tunes its threshold on a part of train, so the evaluation fits its own.
SHARED_TASKS = ("classification", "regression")


@dataclass(frozen=True)
class HeadModels:
    """What `choose_head_models` returns: each head's choice, the blend to serve (None when every head
    keeps the network alone) and the tuned thresholds (multi-label, rare-minority binary) of the heads
    whose outputs changed; `baselines`: the classical models of the classification and regression heads
    fitted on the training rows alone (the evaluation's classical baselines: `classical_reports`)."""

    choices: dict[str, HeadChoice]
    blend: Blend | None
    thresholds: dict[str, list[float]]
    baselines: dict[str, ClassicalModel] = field(default_factory=dict)


def choose_head_models(
    contract: Contract,
    state: Any,
    directory: str,
    heads: list[Any],
    network_val: dict[str, np.ndarray],
    mode: str = "auto",
    seed: int = 0,
    refit: bool = True,
) -> HeadModels:
    """Choose per head between the network, the classical model and their blend (`mode` "auto"), or
    take the one `mode` names ("network", "classical", "blend": the best blend weight strictly inside
    (0, 1)).

    Args:
        contract: the run's contract (which raw columns the classical model reads).
        state: the preprocessing state (targets, their codecs).
        directory: the preprocessed dataset (its split ids and encoded targets).
        heads: the library's fitted heads (their validation losses).
        network_val: the network's outputs on the validation rows, per head, before any refit.
        mode: `training.head_models`.
        seed: seeds the classical models.
        refit: refit a served classical model on train + validation rows.
    """
    if mode == "network":
        return HeadModels({h.name: HeadChoice("network", 1.0) for h in heads}, None, {})
    columns = classical_columns(contract)
    # Memory bounded: at most `classical_max_rows` of each split (seeded, stratified on the class); the
    # network's validation outputs are taken at the same positions.
    limit = contract.training.classical_max_rows
    train_rows, train_truth, _ = bounded_split(contract, state, directory, "train", limit, seed)
    val_rows, val_truth, val_positions = bounded_split(contract, state, directory, "val", limit, seed)
    val_count = len(records.split_ids(directory, "val"))
    for name, outputs in network_val.items():
        if len(outputs) != val_count:
            raise SearchError(
                f"head {name}: {len(outputs)} validation outputs of the network for {val_count} validation "
                "rows; the validation split must be read in the order of its shards"
            )
    network_val = {name: np.asarray(outputs)[val_positions] for name, outputs in network_val.items()}
    # audio cells located once (a URL's clip read once) for the fits and the refit on train + validation
    train_rows, val_rows = media_located(contract, train_rows), media_located(contract, val_rows)
    try:
        train, val = columns.inputs(train_rows), columns.inputs(val_rows)
        train.rows("train")
    except InputError:  # images only: the classical model has nothing to read
        return HeadModels(
            {h.name: HeadChoice("network", 1.0, classical="none (no tabular or text features)") for h in heads},
            None,
            {},
        )
    every = columns.inputs(pd.concat([train_rows, val_rows], ignore_index=True)) if refit else None
    by_name = {head.name: head for head in heads}
    choices, models, thresholds, baselines = {}, {}, {}, {}
    for spec, codec, fitted in state.target_specs():
        head, network = by_name[spec.name], np.asarray(network_val[spec.name], np.float64)
        y_train, y_val = train_truth[spec.name], val_truth[spec.name]
        known = codec.known(y_train)
        refit_on = None
        if every is not None:
            y_all = np.concatenate([y_train, y_val])
            refit_on = (every.take(codec.known(y_all)), y_all[codec.known(y_all)])
        served = choose_head_model(
            spec.task,
            partial(choice_loss, head),
            train.take(known),
            y_train[known],
            val,
            y_val,
            codec.known(y_val),
            network,
            mode,
            seed=seed,
            n_classes=len(codec.names(fitted)) if spec.task == "classification" else 0,
            columns=columns,
            refit_on=refit_on,
            criterion=choice_criterion(head),
        )
        choices[spec.name] = served.choice
        if spec.task in SHARED_TASKS:
            baselines[spec.name] = served.fitted
        if served.model is None:
            continue
        models[spec.name] = served.model
        if getattr(head, "tunes_thresholds", False):  # the blend's probabilities need thresholds of their own
            thresholds[spec.name] = copy.copy(head).tune_thresholds(y_val, served.outputs)
    return HeadModels(choices, Blend(choices, models) if models else None, thresholds, baselines)
