"""Per head, the best of three on validation data: the searched network, the classical model fitted on
the same split (`components.evaluation.classical`: gradient-boosted trees on numbers, categories and
dates; TF-IDF + logistic regression for multi-label heads), or their weighted average.

Both models are judged on the validation rows neither was trained on: the network's outputs from
before its refit (`AutoModel.validation_outputs`), the classical model fitted on the train rows. The
network's weight is chosen on a grid by the head's validation loss (`automl.ensemble.head_loss`: log
loss, or squared error in target standard deviations), as the trial ensemble chooses its members; a
tie keeps the network, then the classical model alone. A classical model that is served is then
refitted on train + validation rows, as the network's trials are (`training.refit`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from components.automl.ensemble import head_loss
from components.data import records
from components.data.contract import Contract
from components.errors import InputError, SearchError
from components.evaluation.classical import train_classical
from components.pipeline.assess import split_targets
from components.pipeline.classical import classical_columns
from components.pipeline.rows import holdout_rows
from components.serving.blend import Blend, HeadChoice, as_network_output

WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)  # the network's share of the blend


@dataclass(frozen=True)
class HeadModels:
    """What `choose_head_models` returns: each head's choice, the blend to serve (None when every head
    keeps the network alone) and the tuned thresholds (multi-label, rare-minority binary) of the heads
    whose outputs changed."""

    choices: dict[str, HeadChoice]
    blend: Blend | None
    thresholds: dict[str, list[float]]


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
    train_rows = holdout_rows(contract, records.split_ids(directory, "train"))
    val_rows = holdout_rows(contract, records.split_ids(directory, "val"))
    try:
        train, val = columns.inputs(train_rows), columns.inputs(val_rows)
        train.rows("train")
    except InputError:  # images only: the classical model has nothing to read
        return HeadModels(
            {h.name: HeadChoice("network", 1.0, classical="none (no tabular or text features)") for h in heads},
            None,
            {},
        )
    train_truth = split_targets(directory, "train", state)
    val_truth = split_targets(directory, "val", state)
    by_name = {head.name: head for head in heads}
    choices, models, thresholds = {}, {}, {}
    for spec, codec, fitted in state.target_specs():
        head, network = by_name[spec.name], np.asarray(network_val[spec.name], np.float64)
        y_train, y_val = train_truth[spec.name], val_truth[spec.name]
        if len(y_val) != len(network):
            raise SearchError(
                f"head {spec.name}: {len(network)} validation outputs of the network for {len(y_val)} validation "
                "rows; the validation split must be read in the order of its shards"
            )
        width = len(codec.names(fitted)) if spec.task == "classification" else 0
        known = codec.known(y_train)
        model = train_classical(
            spec.task, train.take(known), y_train[known], seed=seed, n_classes=width, columns=columns
        )
        classical = as_network_output(model.predict(val), network.shape)
        choice = choose(head, y_val, codec.known(y_val), network, classical, mode, model.description)
        choices[spec.name] = choice
        if choice.choice == "network":
            continue
        if refit:
            rows = pd.concat([train_rows, val_rows], ignore_index=True)
            y_all = np.concatenate([y_train, y_val])
            known = codec.known(y_all)
            model = train_classical(
                spec.task, columns.inputs(rows).take(known), y_all[known], seed=seed, n_classes=width, columns=columns
            )
        models[spec.name] = model
        if getattr(head, "tunes_thresholds", False):  # the blend's probabilities need thresholds of their own
            blended = choice.network_weight * network + (1 - choice.network_weight) * classical
            thresholds[spec.name] = copy.copy(head).tune_thresholds(y_val, blended)
    return HeadModels(choices, Blend(choices, models) if models else None, thresholds)


def choose(
    head: Any,
    truth: np.ndarray,
    known: np.ndarray,
    network: np.ndarray,
    classical: np.ndarray,
    mode: str,
    recipe: str = "",
) -> HeadChoice:
    """The network's weight in `WEIGHTS` with the lowest validation loss of `head` on the `known` rows
    (those with a target of a class the train split has; see the module)."""
    losses = {float(w): head_loss(head, truth[known], w * network[known] + (1 - w) * classical[known]) for w in WEIGHTS}
    inside = min(WEIGHTS[1:-1].tolist(), key=losses.get)
    validation = {
        "network_loss": losses[1.0],
        "classical_loss": losses[0.0],
        "blend_loss": losses[inside],
        "blend_network_weight": inside,
    }
    weight = {"network": 1.0, "classical": 0.0, "blend": inside}.get(mode)
    if weight is None:  # auto: ties keep the simpler model, the network first
        weight = min([1.0, 0.0, *WEIGHTS[1:-1].tolist()], key=losses.get)
    kind = "network" if weight == 1.0 else "classical" if weight == 0.0 else "blend"
    return HeadChoice(kind, weight, validation, recipe)
