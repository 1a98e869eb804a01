"""Flow tests share one Prefect test API (a temporary database and local server) per session."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_api():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def module_store(tmp_path_factory):
    """A fresh folder for one module's Braid home, with `MLFLOW_TRACKING_URI` unset so runs go to that
    home's own SQLite store (an earlier test's `mlflow.set_tracking_uri` sets the variable)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield tmp_path_factory.mktemp("store"), mp
