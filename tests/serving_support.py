"""A served model without a search: a few untrained Keras layers over the demo's fitted state, logged as
Braid's pyfunc and registered as the contract's `champion` in a Braid home of its own (SQLite store).
Used by the serving tests and the serving benchmark's smoke test."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd

import components.serving
from components.data.contract import Contract, load_contract
from components.data.preprocess import fit_state, transform_frame
from components.layout import Layout
from components.pipeline.assess import serving_config
from components.pipeline.gate import CHAMPION
from components.pipeline.rows import input_columns
from components.pipeline.runs import registered_name, tracker_for
from components.serving import SERVING_PARAMS, predict_frame


@dataclass(frozen=True)
class TinyChampion:
    model_uri: str  # runs:/… of the logged pyfunc
    rows: pd.DataFrame  # two raw rows with the id column, without targets
    contract: Contract
    layout: Layout


def tiny_model(x: dict, config) -> keras.Model:
    """Untrained heads of every target over the tabular slot (the only input the model takes)."""
    tabular = keras.Input(shape=(x["tabular"].shape[1],), name="tabular")
    outputs = {}
    for target in config.targets:
        units, activation = {
            "classification": (len(target.classes), "softmax"),
            "multilabel": (len(target.classes), "sigmoid"),
        }.get(target.task, (1, None))
        outputs[target.name] = keras.layers.Dense(units, activation=activation, name=target.name)(tabular)
    return keras.Model(tabular, outputs)


def register_tiny_champion(folder: Path, contract_file: Path) -> TinyChampion:
    """Log and register the tiny model of `contract_file` under `folder / "home"` (MLFLOW_TRACKING_URI is
    ignored while it runs: the layout's own store)."""
    contract = load_contract(contract_file)
    state = fit_state(contract)
    config = serving_config(contract, state, {})
    rows = pd.read_csv(contract.source.path).head(2).drop(columns=[t.name for t in contract.targets])
    model = tiny_model(transform_frame(state, rows, contract.source.image_base), config)
    model.save(folder / "model.keras")
    (folder / "state.json").write_text(state.to_json(), encoding="utf-8")
    (folder / "serving.json").write_text(config.to_json(), encoding="utf-8")
    example = rows.drop(columns=[contract.id_column])
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        layout = Layout(folder / "home")
        tracker = tracker_for(layout)
        run_id = tracker.start_run(tracker.experiment_id("braid-serving-test"), "serving-test")
        uri = tracker.log_pyfunc(
            run_id,
            name=registered_name(contract),
            python_model=str(Path(components.serving.__file__).with_name("model_code.py")),
            artifacts={
                "keras_model": str(folder / "model.keras"),
                "state": str(folder / "state.json"),
                "serving": str(folder / "serving.json"),
            },  # fmt: skip
            signature=tracker.pyfunc_signature(
                input_columns(contract, example), example, predict_frame(model, state, config, example), SERVING_PARAMS
            ),
            input_example=example,
        )
        tracker.set_alias(registered_name(contract), CHAMPION, tracker.register(uri, registered_name(contract)))
        tracker.end_run(run_id)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    return TinyChampion(uri, rows, contract, layout)
