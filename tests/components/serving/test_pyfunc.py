"""The served pyfunc behind MLflow's own scoring server (its FastAPI app, in process): a request with a row
that cannot be read is refused with Braid's sentence and no stack trace, or, with `on_bad_rows: skip`, the
other rows are scored. The model is a few Keras layers over the demo's fitted state: no search needed."""

import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.pyfunc import scoring_server

from components.errors import BraidError
from components.pipeline.runs import tracker_for
from components.pipeline.score import score_file
from components.serving import ERROR_COLUMN
from tests.serving_support import register_tiny_champion


@pytest.fixture(scope="module")
def served(tmp_path_factory, demo_contract_factory):
    """The demo's pyfunc logged, registered as `champion` (a SQLite store of its own) and behind MLflow's
    scoring app; yields (client, two raw rows, contract, layout)."""
    folder = tmp_path_factory.mktemp("pyfunc")
    champion = register_tiny_champion(folder, demo_contract_factory(folder, rows=40, image_size=8))
    with pytest.MonkeyPatch.context() as env:
        env.delenv("MLFLOW_TRACKING_URI", raising=False)  # the layout's own store
        client = TestClient(scoring_server.init(tracker_for(champion.layout).load_pyfunc(champion.model_uri)))
        yield client, champion.rows, champion.contract, champion.layout


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
    client, rows, _, _ = served
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
    client, rows, _, _ = served
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
    client, rows, _, _ = served
    bad = _one_bad(rows)
    bad.loc[0, "image"] = "nowhere.png"
    message = _post(client, bad).json()["message"]
    assert message.startswith("2 of 2 row(s)") and "row 0 (id" in message and "nowhere.png" in message, message
    refused = _post(client, rows, on_bad_rows="ignore")
    assert refused.status_code == 400 and "on_bad_rows must be one of ['fail', 'skip']" in refused.json()["message"]


def test_a_request_chooses_among_the_servers_images_never_its_files(served):
    """`params.image_root` may only narrow the server's root, and no answer names the server's directories."""
    client, rows, contract, _ = served
    server_root = str(contract.source.image_base)
    for outside in ("/", "..", "../..", "/etc"):
        refused = _post(client, rows, image_root=outside)
        assert refused.status_code == 400, outside
        message = refused.json()["message"]
        assert "leads outside the server's image root" in message and server_root not in message, message
    missing = rows.copy()
    missing.loc[0, "image"] = "nowhere.png"
    for answer in (_post(client, missing).json()["message"], _post(client, missing, on_bad_rows="skip").text):
        assert "nowhere.png" in answer and server_root not in answer, answer
    # a directory inside the root is accepted: the rows' paths are then looked up under it
    inside = _post(client, rows, image_root=".")
    assert inside.status_code == 200, inside.text


def test_braid_score_refuses_or_skips_a_file_with_a_bad_row(served, tmp_path, monkeypatch):
    _, rows, contract, layout = served
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    data = tmp_path / "rows.csv"
    _one_bad(rows).to_csv(data, index=False)
    with pytest.raises(BraidError, match=r"1 of 2 row\(s\) cannot be scored.*row 1 \(id '.*'\), column 'image'"):
        score_file(contract, layout, data, tmp_path / "refused.parquet")
    scored = score_file(contract, layout, data, tmp_path / "scored.parquet", on_bad_rows="skip")
    assert (scored.rows, scored.skipped) == (2, 1)
    out = pd.read_parquet(scored.output)
    assert out["id"].tolist() == rows["id"].tolist() and out["score"].isna().tolist() == [False, True]
    assert out[ERROR_COLUMN].isna().tolist() == [True, False]
