"""Flow tests share one Prefect test API (a temporary database and local server) per session; a module
that needs real servers takes the `stack` fixture (PostgreSQL, MLflow, Prefect and a worker)."""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

BRAID = str(Path(sys.executable).with_name("braid"))


@pytest.fixture(scope="session", autouse=True)
def prefect_api():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def braid_runs(tmp_path_factory, demo_contract_factory):
    """`braid run` twice on the tiny demo with one seed, each into its own Braid home, output captured (no
    terminal): (first, second, contract). The reproducibility and the console tests read the same runs."""
    folder = tmp_path_factory.mktemp("braid-runs")
    contract = demo_contract_factory(folder, rows=120, image_size=8)
    done = []
    for name in ("first", "second"):
        env = {**os.environ, "BRAID_HOME": str(folder / name)}
        env.pop("MLFLOW_TRACKING_URI", None)
        done.append(
            subprocess.run(
                [BRAID, "run", str(contract), "--max-trials", "2", "--epochs", "1", "--tuner", "random", "--seed", "3"],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
        )
    return done[0], done[1], contract


def run_on_demo(folder: Path, name: str, training: dict, *args: str, env: dict | None = None) -> Path:
    """`braid run` (with `args`) on the tiny demo whose `training:` section `training` updates, into the Braid
    home `folder/home`; asserts it succeeded and returns the contract's path."""
    import yaml

    from tests.conftest import PROJECT_ROOT, make_demo_contract

    path = make_demo_contract(folder, rows=120, image_size=8, name=name)
    raw = yaml.safe_load(path.read_text())
    raw["training"].update(training)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", str(path), *args],
        cwd=PROJECT_ROOT,
        # into that home's own store: an earlier test in this process may have set MLFLOW_TRACKING_URI
        env={
            **{k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
            "BRAID_HOME": str(folder / "home"),
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return path


@pytest.fixture(scope="module")
def module_store(tmp_path_factory):
    """A fresh folder for one module's Braid home, with `MLFLOW_TRACKING_URI` unset so runs go to that
    home's own SQLite store (an earlier test's `mlflow.set_tracking_uri` sets the variable)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        yield tmp_path_factory.mktemp("store"), mp


@pytest.fixture(scope="module")
def stack():
    """A local stack (flows/stack.py) for one module: PostgreSQL, MLflow and Prefect servers on it and a
    worker on `braid-process`, on free ports under a temporary Braid home; stopped by pid afterwards.
    Yields a `flows.stack.Stack` (`prefect_api_url`, `mlflow_uri`, `database_url(name)`, `pids`,
    `client_env()`); the Braid home the worker's flow runs use is `stack.folder.parent`."""
    from components.infra.stack import local_stack

    with _reachable_home() as home, local_stack(home) as running:
        yield running


@pytest.fixture
def stack_home():
    """A temporary Braid home for a stack of the test's own (see `_reachable_home`)."""
    with _reachable_home() as home:
        yield home


@contextlib.contextmanager
def _reachable_home():
    """A temporary Braid home the `postgres` user can reach (pytest's own tmp folders are closed to
    other users; as root, PostgreSQL runs as `postgres`)."""
    folder = Path(tempfile.mkdtemp(prefix="braid-stack-"))
    folder.chmod(0o755)
    try:
        yield folder / "home"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
