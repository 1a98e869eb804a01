"""Test-wide settings: offline, telemetry off, every store under a temporary directory."""

import os
from pathlib import Path

from components.settings import TELEMETRY_OFF

_ENV = {
    **TELEMETRY_OFF,
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PREFECT_HOME": str(Path(__file__).resolve().parents[1] / ".braid" / "prefect-tests"),
    "CUDA_VISIBLE_DEVICES": "",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",  # the API still gets INFO logs
}
for _key, _value in _ENV.items():
    os.environ.setdefault(_key, _value)
if os.environ.get("PYTEST_XDIST_WORKER"):  # each pytest-xdist worker gets its own Prefect home
    os.environ["PREFECT_HOME"] = str(Path(os.environ["PREFECT_HOME"]) / os.environ["PYTEST_XDIST_WORKER"])
Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def make_demo_contract(
    folder: Path,
    rows: int = 120,
    image_size: int = 16,
    seed: int = 0,
    name: str = "demo",
    refit: bool = True,
    require_beating_trivial: bool = False,
) -> Path:
    """Write `rows` of demo data under `folder` and a contract for it (the bundled demo contract with
    absolute paths and small images; `refit=False` skips the refit after the search, for tests that
    do not look at the model's quality). A model of a test's few rows and epochs may tie a head's
    trivial baseline, which keeps it from `champion` (the gate's default): tests of the registry and
    serving plumbing turn that check off unless they ask for it (tests/flows/test_gate.py).
    Returns the contract's path."""
    from components.data.demo import write_demo_data

    data_dir = folder / "data"
    csv_path = write_demo_data(data_dir, n_rows=rows, seed=seed, image_size=image_size)
    raw = yaml.safe_load((PROJECT_ROOT / "data_contracts" / "demo.yaml").read_text())
    raw["name"] = name
    raw["source"] = {"path": str(csv_path), "format": "csv", "image_root": str(data_dir / "images")}
    for feature in raw["features"]:
        if feature["modality"] == "image":
            feature["image_size"] = [image_size, image_size]
            feature["expect"] = {"nullable": False}
    if not refit:
        raw.setdefault("training", {})["refit"] = False
    raw.setdefault("training", {})["require_beating_trivial"] = require_beating_trivial
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def demo_contract_factory():
    return make_demo_contract


@pytest.fixture(scope="session")
def empty_mlflow_store(tmp_path_factory) -> Path:
    """An MLflow SQLite store with its tables made and nothing in them. MLflow's migrations take seconds
    on a new store; `braid_home(folder, store)` copies this file instead, in milliseconds."""
    from components.layout import Layout
    from components.pipeline.runs import tracker_for

    with pytest.MonkeyPatch.context() as env:
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        layout = Layout(tmp_path_factory.mktemp("empty-mlflow-store"))
        tracker_for(layout)
    return layout.mlflow_db


def braid_home(folder: Path, store: Path) -> Path:
    """`folder` made a Braid home whose MLflow store starts as a copy of `store` (`empty_mlflow_store`)."""
    import shutil

    from components.layout import Layout

    database = Layout(folder).mlflow_db
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(store, database)
    return folder


@pytest.fixture
def http():
    """A real HTTP server of media on 127.0.0.1 (`tests.media_server.MediaServer`), stopped after the test."""
    from tests.media_server import serve_media

    yield from serve_media()


@pytest.fixture
def s3():
    """moto's S3-compatible server on 127.0.0.1 with an empty bucket `media`: (endpoint URL, boto3 client)."""
    from tests.media_server import serve_s3

    yield from serve_s3()
