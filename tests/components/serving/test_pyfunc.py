"""The served pyfunc behind MLflow's own scoring server (its FastAPI app, in process): a request with a row
that cannot be read is refused with Braid's sentence and no stack trace, or, with `on_bad_rows: skip`, the
other rows are scored. The model is a few Keras layers over the demo's fitted state: no search needed."""

import json
from pathlib import Path

import keras
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.pyfunc import scoring_server

import components.serving
from components.data.contract import load_contract
from components.data.preprocess import fit_state, transform_frame
from components.errors import BraidError
from components.pipeline.assess import serving_config
from components.pipeline.rows import input_columns
from components.serving import ERROR_COLUMN, SERVING_PARAMS, predict_frame
from components.tracking import Tracker


def _tiny_model(x: dict, config) -> keras.Model:
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


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_contract_factory):
    folder = tmp_path_factory.mktemp("pyfunc")
    contract = load_contract(demo_contract_factory(folder, rows=40, image_size=8))
    state = fit_state(contract)
    config = serving_config(contract, state, {})
    rows = pd.read_csv(contract.source.path).head(2).drop(columns=[t.name for t in contract.targets])
    model = _tiny_model(transform_frame(state, rows, contract.source.image_base), config)
    model.save(folder / "model.keras")
    (folder / "state.json").write_text(state.to_json(), encoding="utf-8")
    (folder / "serving.json").write_text(config.to_json(), encoding="utf-8")
    example = rows.drop(columns=[contract.id_column])
    mlflow.pyfunc.save_model(
        folder / "pyfunc",
        python_model=str(Path(components.serving.__file__).with_name("model_code.py")),
        artifacts={
            k: str(folder / f)
            for k, f in (("keras_model", "model.keras"), ("state", "state.json"), ("serving", "serving.json"))
        },  # fmt: skip
        signature=Tracker.pyfunc_signature(
            input_columns(contract, example), example, predict_frame(model, state, config, example), SERVING_PARAMS
        ),
        input_example=example,
    )
    client = TestClient(scoring_server.init(mlflow.pyfunc.load_model(str(folder / "pyfunc"))))
    return client, rows, folder / "pyfunc"


def _post(client: TestClient, rows: pd.DataFrame, **params):
    payload = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    if params:
        payload["params"] = params
    return client.post("/invocations", json=payload)


def _one_bad(rows: pd.DataFrame) -> pd.DataFrame:
    bad = rows.copy()
    bad.loc[1, "image"] = "../outside.png"
    return bad


def test_a_bad_row_is_refused_with_its_row_and_column_and_no_stack_trace(served):
    client, rows, _ = served
    response = _post(client, _one_bad(rows))
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) <= {"error_code", "message", "sqlstate", "error_class"}, "no stack_trace, no echoed rows"
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    message = body["message"]
    assert message.startswith("1 of 2 row(s) cannot be scored"), message
    bad_id = rows["id"].iloc[1]
    assert (
        f"row 1 (id '{bad_id}'), column 'image': image path '../outside.png' points outside the image root" in message
    )
    assert "on_bad_rows" in message and "Traceback" not in message
    assert message.count("row 1") == 1 and "#" not in message, "one row number per row"


def test_skip_scores_the_good_rows_and_names_the_bad_ones(served):
    client, rows, _ = served
    response = _post(client, _one_bad(rows), on_bad_rows="skip")
    assert response.status_code == 200, response.text
    good, bad = response.json()["predictions"]
    assert [good["id"], bad["id"]] == rows["id"].tolist()
    assert good["kind"] is not None and np.isfinite(good["score"]) and good[ERROR_COLUMN] is None
    assert bad["kind"] is None and bad["score"] is None and bad["kind__proba"] is None
    assert "column 'image'" in bad[ERROR_COLUMN] and "outside the image root" in bad[ERROR_COLUMN]
    alone = _post(client, rows.iloc[[0]]).json()["predictions"][0]
    assert alone["score"] == pytest.approx(good["score"], abs=1e-6), "the good row scores as it does alone"


def test_every_bad_row_is_named_in_one_pass_and_an_unknown_option_is_refused(served):
    client, rows, _ = served
    bad = _one_bad(rows)
    bad.loc[0, "image"] = "nowhere.png"
    message = _post(client, bad).json()["message"]
    assert message.startswith("2 of 2 row(s)") and "row 0 (id" in message and "nowhere.png" in message, message
    refused = _post(client, rows, on_bad_rows="ignore")
    assert refused.status_code == 400 and "on_bad_rows must be one of ['fail', 'skip']" in refused.json()["message"]


def test_in_process_a_refusal_is_a_braid_error_and_skip_works_through_params(served):
    _, rows, path = served
    model = mlflow.pyfunc.load_model(str(path))  # as `braid score` and the gate call it
    with pytest.raises(BraidError, match=r"row 1 \(id '.*'\), column 'image'"):
        model.predict(_one_bad(rows))
    out = model.predict(_one_bad(rows), params={"on_bad_rows": "skip"})
    assert out[ERROR_COLUMN].isna().tolist() == [True, False]
