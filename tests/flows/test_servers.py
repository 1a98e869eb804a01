"""Against real servers: a `prefect server` and an `mlflow server` on 127.0.0.1, started here.

The pipeline runs in a separate process that knows the servers only through PREFECT_API_URL and
MLFLOW_TRACKING_URI (no code change), and the records are checked through the servers' own APIs.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer in {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("servers")
    env = {**os.environ, "PREFECT_HOME": str(root / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("PREFECT_API_URL", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    prefect_port, mlflow_port = _free_port(), _free_port()
    env["PREFECT_UI_API_URL"] = f"http://127.0.0.1:{prefect_port}/api"  # the UI's scripts call this address
    logs = {name: root / f"{name}.log" for name in ("prefect", "mlflow")}
    procs = [
        subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(prefect_port)],
                         env=env, stdout=logs["prefect"].open("w"), stderr=subprocess.STDOUT, start_new_session=True),
        subprocess.Popen([str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(mlflow_port),
                          "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
                          "--artifacts-destination", str(root / "mlflow-artifacts"), "--workers", "1"],
                         env=env, stdout=logs["mlflow"].open("w"), stderr=subprocess.STDOUT, start_new_session=True),
    ]
    try:
        prefect_api = f"http://127.0.0.1:{prefect_port}/api"
        mlflow_uri = f"http://127.0.0.1:{mlflow_port}"
        _wait_http(f"{prefect_api}/health", procs[0], logs["prefect"])
        _wait_http(f"{mlflow_uri}/health", procs[1], logs["mlflow"])
        yield {"root": root, "prefect_api": prefect_api, "mlflow_uri": mlflow_uri, "env": env}
    finally:
        for proc in procs:  # each server runs workers of its own: stop the whole process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)


def test_pipeline_runs_against_prefect_and_mlflow_servers(servers, demo_contract_factory):
    contract = demo_contract_factory(servers["root"], rows=120, image_size=16)
    env = {**servers["env"], "PREFECT_API_URL": servers["prefect_api"], "MLFLOW_TRACKING_URI": servers["mlflow_uri"],
           "BRAID_HOME": str(servers["root"] / "home")}
    done = subprocess.run([str(BIN / "braid"), "run", str(contract), "--max-trials", "1", "--epochs", "1",
                           "--tuner", "random"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    client = MlflowClient(servers["mlflow_uri"])
    experiment = client.get_experiment_by_name("braid-demo")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == 1 and children[0].data.tags["mlflow.parentRunId"] == parents[0].info.run_id
    assert client.get_model_version_by_alias("braid-demo", "champion").run_id == parents[0].info.run_id
    assert not (servers["root"] / "home" / "mlflow.db").exists(), "a server URI must replace the local store"

    flow_runs = httpx.post(f"{servers['prefect_api']}/flow_runs/filter", json={}, timeout=30).json()
    names = {r["name"]: r for r in flow_runs}
    assert flow_runs and all(r["state_type"] == "COMPLETED" for r in flow_runs), names
    task_runs = httpx.post(f"{servers['prefect_api']}/task_runs/filter", json={}, timeout=30).json()
    assert {"validate", "preprocess", "search-and-train", "evaluate", "register"} <= {
        r["name"].rsplit("-", 1)[0] for r in task_runs}
    artifacts = httpx.post(f"{servers['prefect_api']}/artifacts/filter", json={}, timeout=30).json()
    assert {"validation-demo", "leaderboard-demo", "evaluation-demo", "champion-demo"} <= {a["key"] for a in artifacts}


def test_prefect_yaml_deploys_with_schedules(servers):
    env = {**servers["env"], "PREFECT_API_URL": servers["prefect_api"], "BRAID_PROJECT_DIR": str(ROOT)}
    pool = subprocess.run([str(BIN / "prefect"), "work-pool", "create", "braid-process", "--type", "process"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert pool.returncode == 0, pool.stdout + pool.stderr
    done = subprocess.run([str(BIN / "braid"), "deploy"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    deployments = httpx.post(f"{servers['prefect_api']}/deployments/filter", json={}, timeout=30).json()
    by_name = {d["name"]: d for d in deployments}
    assert {"nightly-demo", "nightly-posters", "nightly-movies", "scoring"} <= set(by_name)
    nightly = by_name["nightly-demo"]
    assert nightly["work_pool_name"] == "braid-process"
    assert nightly["schedules"] and nightly["schedules"][0]["schedule"]["cron"] == "0 2 * * *"
    assert nightly["parameters"]["contract"] == "data_contracts/demo.yaml"


def _rendered(url: str, budget_ms: int = 25000) -> str:
    """The page's DOM after a headless Chromium ran its scripts (Debian's `chromium`, installed by .ci/run)."""
    done = subprocess.run([shutil.which("chromium"), "--headless=new", "--no-sandbox", "--disable-gpu",
                           "--disable-dev-shm-usage", "--no-first-run", f"--virtual-time-budget={budget_ms}",
                           "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_both_uis_render_the_run_in_a_headless_browser(servers):
    client = MlflowClient(servers["mlflow_uri"])
    experiment = client.get_experiment_by_name("braid-demo")
    assert experiment is not None, "runs after test_pipeline_runs_against_prefect_and_mlflow_servers"
    parent = next(r for r in client.search_runs([experiment.experiment_id]) if "mlflow.parentRunId" not in r.data.tags)
    base = f"{servers['mlflow_uri']}/#/experiments/{experiment.experiment_id}"
    runs = _rendered(f"{base}/runs")
    assert parent.info.run_name in runs, "the experiment opens on its runs table, with the run in it"
    page = _rendered(f"{base}/runs/{parent.info.run_id}/artifacts/search/trial_leaderboard.png")
    assert "trial_leaderboard.png" in page and "<img" in page, "the leaderboard plot is shown"

    flow_run_id = parent.data.tags["prefect.flow_run_id"]
    prefect_ui = servers["prefect_api"].removesuffix("/api")
    flow_page = _rendered(f"{prefect_ui}/runs/flow-run/{flow_run_id}")
    flow_run = httpx.get(f"{servers['prefect_api']}/flow_runs/{flow_run_id}", timeout=30).json()
    assert flow_run["name"] in flow_page, "the flow-run page shows the run (named after the MLflow run)"
    logs = httpx.post(f"{servers['prefect_api']}/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}},
                      timeout=30).json()
    assert logs and any(entry["message"][:40] in flow_page for entry in logs), "its logs are shown"
