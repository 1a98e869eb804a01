"""Per head, the served combination of a network and the classical model: the network alone, the
classical model alone, or their weighted average (`HeadChoice`), chosen on validation data by one rule
that the pipeline (`components.pipeline.head_models`) and the library (`AutoModel(head_models=...)`,
`components.automl.head_models`) share: `choose_head_model`.

Both models are judged on validation rows neither was trained on: the network's outputs from before its
refit, the classical model fitted on the training rows. The network's weight is chosen on a grid by the
head's validation loss (the caller's `loss`: log loss, absolute error in target standard deviations, or
for a multi-label head 1 - micro-F1 at thresholds tuned per weight, `automl.ensemble.choice_loss`); a tie
keeps the network, then the classical model alone. A classical model that is served is then refitted on
training + validation rows, as the network is.

The pipeline's served package holds `head_models.json` (each head's choice, weight and the validation
figures that chose it) and `classical.skops` (the fitted classical models, `components.evaluation.classical`);
the classical model reads its features from the same raw rows as the network, so `predict_frame` and
`AutoModel.predict` can blend the two outputs before decoding them. numpy, pandas and scikit-learn only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn

from components.errors import InputError
from components.evaluation.classical import (
    ClassicalColumns,
    ClassicalInputs,
    ClassicalModel,
    load_classical,
    save_classical,
    train_classical,
)

CHOICES = ("network", "classical", "blend")
MODES = ("auto", *CHOICES)  # `training.head_models` and `AutoModel(head_models=...)`
CHOICES_FILE, MODELS_FILE = "head_models.json", "classical.skops"
WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)  # the network's share of the blend


@dataclass(frozen=True)
class HeadChoice:
    """One head's served model.

    Args:
        choice: "network", "classical" or "blend".
        network_weight: the network's share of the average (1 for "network", 0 for "classical").
        validation: the validation figures that chose it (`network_loss`, `classical_loss`, `blend_loss`).
        classical: the classical model in words.
        criterion: what the validation figures measure ("" in packages saved before it was recorded: the
            head's validation loss).
    """

    choice: str
    network_weight: float
    validation: dict[str, float] = field(default_factory=dict)
    classical: str = ""
    criterion: str = ""

    def describe(self) -> str:
        if self.choice == "blend":
            return f"blend ({self.network_weight:.2f} network + {1 - self.network_weight:.2f} classical)"
        return self.choice

    def explain(self) -> str:
        """The choice and why, in one line: the validation losses that chose it, or why there was no
        classical model to choose."""
        if not self.validation:
            return f"{self.describe()}: classical model {self.classical or 'not tried'}"
        figures = self.validation
        return (
            f"{self.describe()}: validation {self.criterion or 'loss'} network {figures['network_loss']:.4g}, "
            f"classical {figures['classical_loss']:.4g}, best blend {figures['blend_loss']:.4g} "
            f"(network weight {figures['blend_network_weight']:.2f}); classical model: {self.classical}"
        )


@dataclass(frozen=True)
class Blend:
    """Each head's choice and the classical models the choices use."""

    choices: dict[str, HeadChoice]
    models: dict[str, ClassicalModel]

    def apply(self, outputs: dict[str, np.ndarray], rows: pd.DataFrame) -> dict[str, np.ndarray]:
        """The network's outputs (`{head: array}`, as the Keras model gives them) with each head's
        choice applied; the classical models predict from the raw `rows`."""
        blended = dict(outputs)
        features: dict = {}  # heads fitted on the same columns share one reading of the rows (a third of a row's time)
        for head, choice in self.choices.items():
            if choice.choice == "network":
                continue
            model = self.models[head]
            if model.columns not in features:
                features[model.columns] = model.columns.inputs(rows) if model.columns is not None else None
            inputs = features[model.columns]
            network = np.asarray(outputs[head], np.float64)
            # the rows were checked by the preprocessing already: skip scikit-learn's own checks per call
            with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
                predicted = model.predict(inputs) if inputs is not None else model.predict_rows(rows)
            classical = as_network_output(predicted, network.shape)
            blended[head] = choice.network_weight * network + (1 - choice.network_weight) * classical
        return blended

    def save(self, folder: Path) -> list[Path]:
        """Write `head_models.json` and `classical.skops` into `folder`; returns both paths."""
        folder.mkdir(parents=True, exist_ok=True)
        choices = {head: asdict(choice) for head, choice in self.choices.items()}
        (folder / CHOICES_FILE).write_text(json.dumps(choices, indent=1), encoding="utf-8")
        save_classical(self.models, folder / MODELS_FILE)
        return [folder / CHOICES_FILE, folder / MODELS_FILE]


def load_blend(choices_path: str | Path, models_path: str | Path) -> Blend:
    """Read what `Blend.save` wrote."""
    raw = json.loads(Path(choices_path).read_text(encoding="utf-8"))
    return Blend({head: HeadChoice(**choice) for head, choice in raw.items()}, load_classical(models_path))


def as_network_output(predicted: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A classical prediction in the shape of the network's output: a binary head's network gives the
    second class's probability alone (`[N, 1]`), a regression head `[N, 1]` values."""
    predicted = np.asarray(predicted, np.float64)
    if predicted.ndim == 2 and len(shape) == 2 and shape[1] == 1 and predicted.shape[1] == 2:
        predicted = predicted[:, 1:]
    return predicted.reshape(shape)


def check_mode(mode: str) -> str:
    """`mode` when it is one of `MODES`; an InputError naming the argument otherwise."""
    if mode not in MODES:
        raise InputError(f"head_models={mode!r} is unknown; use one of {list(MODES)}.")
    return mode


def choose(
    loss: Callable[[np.ndarray, np.ndarray], float],
    truth: np.ndarray,
    known: np.ndarray,
    network: np.ndarray,
    classical: np.ndarray,
    mode: str,
    recipe: str = "",
    criterion: str = "",
) -> HeadChoice:
    """The network's weight in `WEIGHTS` with the lowest validation `loss(truth, predicted)` on the `known`
    rows (those with a target of a class the training rows have), or the one `mode` names ("network",
    "classical", "blend": the best weight strictly inside (0, 1)); "auto" breaks ties towards the network,
    then the classical model alone."""
    check_mode(mode)
    losses = {float(w): loss(truth[known], w * network[known] + (1 - w) * classical[known]) for w in WEIGHTS}
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
    return HeadChoice(kind, weight, validation, recipe, criterion)


@dataclass(frozen=True)
class HeadModel:
    """What `choose_head_model` returns for one head.

    Args:
        choice: the head's choice and the validation figures that made it.
        model: the classical model the choice serves (refitted when asked); None for the network alone.
        outputs: the chosen combination's outputs on the validation rows (what thresholds are tuned on).
        fitted: the classical model fitted on the training rows alone, before any refit: the same model
            the evaluation's classical baseline fits (`fit_classical`), so it need not be fitted twice.
    """

    choice: HeadChoice
    model: ClassicalModel | None
    outputs: np.ndarray
    fitted: ClassicalModel | None = None


def choose_head_model(
    task: str,
    loss: Callable[[np.ndarray, np.ndarray], float],
    train: ClassicalInputs,
    y_train: np.ndarray,
    val: ClassicalInputs,
    y_val: np.ndarray,
    known_val: np.ndarray,
    network: np.ndarray,
    mode: str,
    *,
    seed: int = 0,
    n_classes: int = 0,
    columns: ClassicalColumns | None = None,
    refit_on: tuple[ClassicalInputs, np.ndarray] | None = None,
    criterion: str = "",
) -> HeadModel:
    """Fit one head's classical model on the training rows, and choose between it, the network and their
    blend on the validation rows (`choose`).

    Args:
        task: "classification", "multilabel" or "regression" (`train_classical`).
        loss: the head's validation loss, `loss(truth, predicted)` on the network's output form.
        train, y_train: the training rows' features and targets (rows with a known target only).
        val, y_val: the validation rows' features and targets as the network's loss takes them.
        known_val: the validation rows the loss counts.
        network: the network's outputs on the validation rows, from before any refit.
        mode: "auto", "network", "classical" or "blend" (see `choose`).
        seed: seeds the classical model.
        n_classes: classification: the head's number of classes.
        columns: the raw columns the features came from, so the served model predicts raw rows.
        refit_on: training + validation features and targets (known rows): a served classical model is
            refitted on them; None keeps the one fitted on the training rows.
        criterion: what `loss` measures, in words (`HeadChoice.criterion`).
    """
    network = np.asarray(network, np.float64)
    fitted = train_classical(task, train, y_train, seed=seed, n_classes=n_classes, columns=columns)
    classical = as_network_output(fitted.predict(val), network.shape)
    choice = choose(loss, y_val, known_val, network, classical, mode, fitted.description, criterion)
    if choice.choice == "network":
        return HeadModel(choice, None, network, fitted)
    outputs = choice.network_weight * network + (1 - choice.network_weight) * classical
    model = fitted
    if refit_on is not None:
        # the refit keeps the trees' size chosen on the training rows' hold-out (no second search)
        model = train_classical(
            task, *refit_on, seed=seed, n_classes=n_classes, columns=columns, leaves=fitted.tree_leaves
        )
    return HeadModel(choice, model, outputs, fitted)
