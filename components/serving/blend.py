"""Per head, the served combination of the network and the classical model: the network alone, the
classical model alone, or their weighted average (`HeadChoice`), chosen on validation data by the
pipeline (`components.pipeline.head_models`).

The served package holds `head_models.json` (each head's choice, weight and the validation figures that
chose it) and `classical.skops` (the fitted classical models, `components.evaluation.classical`); the
classical model reads its features from the same raw rows as the network, so `predict_frame` can blend
the two outputs before decoding them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn

from components.evaluation.classical import ClassicalModel, load_classical

CHOICES = ("network", "classical", "blend")
CHOICES_FILE, MODELS_FILE = "head_models.json", "classical.skops"


@dataclass(frozen=True)
class HeadChoice:
    """One head's served model.

    Args:
        choice: "network", "classical" or "blend".
        network_weight: the network's share of the average (1 for "network", 0 for "classical").
        validation: the validation figures that chose it (`network_loss`, `classical_loss`, `blend_loss`).
        classical: the classical model in words.
    """

    choice: str
    network_weight: float
    validation: dict[str, float] = field(default_factory=dict)
    classical: str = ""

    def describe(self) -> str:
        if self.choice == "blend":
            return f"blend ({self.network_weight:.2f} network + {1 - self.network_weight:.2f} classical)"
        return self.choice


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
        from components.evaluation.classical import save_classical

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
