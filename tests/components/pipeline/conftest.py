"""The step tests share one tiny demo, validated (Great Expectations) and preprocessed once per worker;
each test tracks into a Braid home of its own: MLflow on a SQLite store under its temporary folder."""

import pytest

from components.data.contract import load_contract
from components.layout import Layout
from components.pipeline import prepare
from tests.conftest import braid_home


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory, demo_contract_factory):
    """(contract, validated, prepared) of 80 demo rows with 8-pixel images."""
    folder = tmp_path_factory.mktemp("tiny-demo")
    contract = load_contract(demo_contract_factory(folder, rows=80, image_size=8, refit=False))
    layout = Layout(folder / "home")
    data_hash = prepare.fingerprint(contract)
    validated = prepare.validate(contract, layout, data_hash)
    return contract, validated, prepare.preprocess(contract, layout, data_hash, validated.quarantine_path)


@pytest.fixture
def layout(tmp_path, monkeypatch, empty_mlflow_store):
    """A Braid home of the test's own, tracked in its own SQLite store (`MLFLOW_TRACKING_URI` unset: an
    earlier test's `mlflow.set_tracking_uri` sets it)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return Layout(braid_home(tmp_path / "home", empty_mlflow_store))
