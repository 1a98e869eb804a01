"""Faults of the served model: requests a client gets wrong, and a server killed while it loads.

The request faults go to MLflow's scoring app behind Braid's guards (`scoring_app`, what `braid serve`
runs) in process; each must get a 4xx whose `message` says what was wrong, no stack trace, and the server
must answer the next good request. The kill-and-restart fault runs a real `braid serve` on 127.0.0.1.
Every wait has a deadline and every test a timeout (in process, MLflow's own request timeout applies too):
a hang fails the test instead of stalling it.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from components.data.media import MediaStore, reset_store
from components.pipeline.runs import tracker_for
from components.ports import free_port
from components.serving.pyfunc import scoring_app
from tests.conftest import make_demo_contract
from tests.reliability.test_bad_inputs import png_claiming
from tests.serving_support import register_tiny_champion

pytestmark = pytest.mark.timeout(300)

ERROR_KEYS = {"error_code", "message", "sqlstate", "error_class"}  # MLflow's error body, no stack_trace
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serving-faults")
    return register_tiny_champion(folder, make_demo_contract(folder, rows=40, image_size=8))


@pytest.fixture(scope="module")
def model(champion):
    with pytest.MonkeyPatch.context() as env:
        env.delenv("MLFLOW_TRACKING_URI", raising=False)  # the champion's own store
        return tracker_for(champion.layout).load_pyfunc(champion.model_uri)


@pytest.fixture(scope="module")
def client(model):
    with TestClient(scoring_app(model, max_body_mb=16)) as client:
        yield client


def _payload(rows: pd.DataFrame, **params) -> dict:
    payload = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    return {**payload, "params": params} if params else payload


def _still_serves(client: TestClient, rows: pd.DataFrame) -> None:
    response = client.post("/invocations", json=_payload(rows))
    assert response.status_code == 200 and len(response.json()["predictions"]) == len(rows), response.text[:500]


def _refused(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text[:1000]
    body = response.json()
    assert set(body) <= ERROR_KEYS, f"no stack trace: {sorted(body)}"
    return body["message"]


def test_malformed_json_is_a_400_that_does_not_echo_the_body(client, champion):
    message = _refused(client.post("/invocations", content=b'{"dataframe_split": {"columns": [', headers=JSON))
    assert "valid JSON" in message and "line 1 column 34" in message
    junk = b'{"dataframe_split": ' + b"x" * 3_000_000  # MLflow's message would repeat all 3 MB of it
    response = client.post("/invocations", content=junk, headers=JSON)
    message = _refused(response)
    assert "valid JSON" in message and "characters cut: the request is not repeated" in message
    assert len(response.content) < 5_000
    no_type = client.post("/invocations", content=b"a,b\n1,2", headers={"content-type": "text/html"})
    assert no_type.status_code == 415 and "content types" in no_type.text
    _still_serves(client, champion.rows)


def test_a_50_mb_body_is_refused_before_it_is_read(client, champion):
    body = b" " * (50 * 2**20)
    message = _refused(client.post("/invocations", content=body, headers=JSON), 413)
    assert "at most 16.0 MB and got a body of 50.0 MB" in message and "several smaller requests" in message

    def chunks():  # no Content-Length: the limit counts the bytes as they arrive
        for _ in range(20):
            yield b" " * 2**20

    response = client.post("/invocations", content=chunks(), headers=JSON)
    assert "at most 16.0 MB and got a body over the limit" in _refused(response, 413)
    _still_serves(client, champion.rows)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("price", "abc", 400),  # MLflow's signature check: "Failed to convert column price to type 'float64'"
        ("price", [1, 2], 400),
        ("image", 5, 400),  # read as the path '5': names no file
        ("image", {"nested": "object"}, 400),
        ("description", 123, 200),  # text is text: scored as "123"
        ("listed_on", 7, 200),  # not a date: counted and treated as missing, as in training
        ("color", 3.5, 200),  # an unseen category: the one-hot OOV slot
    ],
)
def test_wrong_column_types_are_a_400_naming_the_column_or_scored_as_training_would(
    client, champion, column, value, expected
):
    rows = champion.rows.astype(object)
    rows.at[1, column] = value
    response = client.post("/invocations", json=_payload(rows))
    if expected == 200:
        assert response.status_code == 200 and len(response.json()["predictions"]) == 2, response.text[:500]
    else:
        message = _refused(response)
        assert column in message, message
        if column == "image":
            assert f"row 1 (id '{rows.at[1, 'id']}'), column 'image'" in message, message
    _still_serves(client, champion.rows)


def _png_bomb() -> str:
    """A 10,000 x 10,000 PNG of zeros in about 12 kB: over Pillow's MAX_IMAGE_PIXELS but under twice it,
    where Pillow only warns and would decode it whole."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 100_000
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _png_header_bomb() -> str:
    """A PNG that claims 100,000 x 100,000 pixels in 100 bytes (Pillow itself refuses it)."""
    return "data:image/png;base64," + base64.b64encode(png_claiming(100_000, 100_000)).decode()


@pytest.mark.parametrize(
    ("bomb", "said"),
    [
        (_png_bomb, "is 10000x10000 pixels, over the 89,478,485 pixels decoded at most"),  # Braid's guard
        (_png_header_bomb, "exceeds limit of 178956970 pixels"),  # Pillow's own
    ],
    ids=["zeros-png", "header-only"],
)
def test_a_decompression_bomb_is_a_400_naming_its_row_and_column_and_skip_scores_the_rest(client, champion, bomb, said):
    rows = champion.rows.copy()
    rows.loc[1, "image"] = bomb()
    message = _refused(client.post("/invocations", json=_payload(rows)))
    assert f"row 1 (id '{rows.at[1, 'id']}'), column 'image'" in message and "decompression bomb" in message, message
    assert said in message, message
    assert "data:image" not in message, "the cell's bytes are not repeated"
    skipped = client.post("/invocations", json=_payload(rows, on_bad_rows="skip"))
    good, bad = skipped.json()["predictions"]
    assert good["score"] is not None and bad["score"] is None and "decompression bomb" in bad["__error"]
    _still_serves(client, champion.rows)


# ----------------------------------------------------------------------------- a real `braid serve`
def _serve(champion, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update({"BRAID_HOME": str(champion.layout.home), "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"})
    with log.open("a") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", str(champion.contract.contract_path), "--port", str(port)],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL takes uvicorn with it
        )


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _kill_group(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the uvicorn child goes with its group
        try:
            os.killpg(server.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    raise AssertionError("a process of the killed server's group is still alive")


def _wait_ready(server: subprocess.Popen, port: int, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not _answers(port):
        assert server.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no answer on port {port} after {timeout}s:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


def test_an_image_url_is_refused_unless_the_server_allows_urls(client, model, champion, http, tmp_path):
    """A client must not make the server request an address of its choosing: URL cells are a 400 naming
    the row, unless the server was started to fetch them (`braid serve --allow-urls`)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, format="PNG")
    http.files["/one.png"] = buffer.getvalue()
    rows = champion.rows.copy()
    rows.loc[1, "image"] = f"{http.url}/one.png"
    message = _refused(client.post("/invocations", json=_payload(rows)))
    assert "row 1" in message and "does not fetch URLs" in message and "--allow-urls" in message, message
    assert http.bodies["/one.png"] == 0, "nothing was fetched"
    reset_store(MediaStore(tmp_path / "media"))
    try:
        with TestClient(scoring_app(model, max_body_mb=16, allow_urls=True)) as allowing:
            response = allowing.post("/invocations", json=_payload(rows))
        assert response.status_code == 200 and len(response.json()["predictions"]) == 2, response.text[:500]
        assert http.bodies["/one.png"] == 1
    finally:
        reset_store()


@pytest.mark.slow
def test_braid_serve_killed_while_loading_or_serving_restarts_cleanly_and_refuses_50_mb_over_http(champion, tmp_path):
    port, log = free_port(), tmp_path / "serve.log"
    rows = champion.rows
    payload = _payload(rows)
    first = _serve(champion, port, log)
    try:
        deadline = time.monotonic() + 60
        while "Serving:" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the server process is importing TensorFlow and loading the model
        assert not _answers(port), "the kill is meant to land while the model loads"
    finally:
        _kill_group(first)

    second = _serve(champion, port, log)
    try:
        _wait_ready(second, port, log)
        scored = httpx.post(f"http://127.0.0.1:{port}/invocations", json=payload, timeout=60)
        assert scored.status_code == 200, scored.text[:1000]
        before = scored.json()["predictions"]
        big = httpx.post(f"http://127.0.0.1:{port}/invocations", content=b" " * (50 * 2**20), headers=JSON, timeout=60)
        assert big.status_code == 413 and "at most 16.0 MB" in big.json()["message"], big.text[:1000]
    finally:
        _kill_group(second)  # killed while serving: the port is taken again at once
    assert not _answers(port)

    third = _serve(champion, port, log)
    try:
        _wait_ready(third, port, log)
        again = httpx.post(f"http://127.0.0.1:{port}/invocations", json=payload, timeout=60)
        assert again.status_code == 200 and again.json()["predictions"] == before, again.text[:1000]
    finally:
        _kill_group(third)


@pytest.mark.slow
def test_braid_serve_without_a_registered_model_says_so_in_one_line(champion, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["BRAID_HOME"] = str(tmp_path / "empty-home")
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "serve", str(champion.contract.contract_path), "--port", str(free_port())],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2 and "Traceback" not in output, output[-3000:]
    assert "no model of contract 'demo' is registered as 'champion'" in output and "braid run" in output
