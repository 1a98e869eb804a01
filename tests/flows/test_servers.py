"""Against real servers: the local stack (components/infra/stack.py) started here: PostgreSQL, a `prefect server` and
an `mlflow server` on it, and a worker on the `braid-process` pool, all on 127.0.0.1.

The pipeline runs in a separate process that knows the servers only through PREFECT_API_URL and
MLFLOW_TRACKING_URI (no code change), or through the worker from a deployment of prefect.yaml, and the
records are checked through the servers' own APIs and in their PostgreSQL databases.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg2
import pytest
from mlflow.tracking import MlflowClient

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # servers in processes: `make test-e2e`
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def servers(stack, tmp_path_factory):
    """The module's stack (tests/flows/conftest.py), with a folder for contracts and the client environment."""
    env = {**os.environ, **stack.client_env()}
    return {
        "root": tmp_path_factory.mktemp("servers"),
        "prefect_api": stack.prefect_api_url,
        "mlflow_uri": stack.mlflow_uri,
        "env": env,
        "stack": stack,
    }


def test_pipeline_runs_against_prefect_and_mlflow_servers(servers, demo_contract_factory):
    contract = demo_contract_factory(servers["root"], rows=120, image_size=16)
    env = {
        **servers["env"],
        "PREFECT_API_URL": servers["prefect_api"],
        "MLFLOW_TRACKING_URI": servers["mlflow_uri"],
        "BRAID_HOME": str(servers["root"] / "home"),
    }
    done = subprocess.run(
        [str(BIN / "braid"), "run", str(contract), "--max-trials", "1", "--epochs", "1", "--tuner", "random"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
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
        r["name"].rsplit("-", 1)[0] for r in task_runs
    }
    artifacts = httpx.post(f"{servers['prefect_api']}/artifacts/filter", json={}, timeout=30).json()
    assert {"validation-demo", "leaderboard-demo", "evaluation-demo", "champion-demo"} <= {a["key"] for a in artifacts}


def test_prefect_yaml_deploys_with_schedules(servers):
    env = {**servers["env"], "PREFECT_API_URL": servers["prefect_api"], "BRAID_PROJECT_DIR": str(ROOT)}
    pool = httpx.get(f"{servers['prefect_api']}/work_pools/braid-process", timeout=30).json()
    assert pool["type"] == "process", "the stack creates the pool prefect.yaml names"
    done = subprocess.run(
        [str(BIN / "braid"), "deploy"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
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
    done = subprocess.run(
        [
            shutil.which("chromium"),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
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
    logs = httpx.post(
        f"{servers['prefect_api']}/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}}, timeout=30
    ).json()
    messages = [entry["message"] for entry in logs]
    assert any(m.startswith("validation passed") for m in messages), "the run's own log lines reach the server"
    # The page has its Logs tab. Prefect's UI in headless Chromium says "This run didn't generate logs"
    # even though the API holds them (at 3eaf17b too; the assertion here then passed only because a
    # keras-tuner blank line was logged as an empty message, which is "in" any page): left open.
    assert "Logs" in flow_page and "Task Runs" in flow_page, "the flow-run page renders its tabs"


def _deployment(api: str, name: str) -> dict | None:
    found = httpx.post(f"{api}/deployments/filter", json={"deployments": {"name": {"any_": [name]}}}, timeout=30).json()
    return found[0] if found else None


def _wait_final(api: str, flow_run_id: str, timeout: float = 900) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        flow_run = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=30).json()
        if flow_run["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return flow_run
        time.sleep(2)
    raise AssertionError(f"flow run {flow_run_id} still {flow_run['state_type']} after {timeout} s")


def _kill_a_worker_mid_trial(
    client: MlflowClient, experiment: str, home: Path, victim: str, found: dict, timeout: float = 600
) -> None:
    """Once `victim` (a search worker) has a trial running, SIGKILL it; note the trial in `found`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and "trial" not in found:
        time.sleep(0.5)
        try:
            runs = client.search_runs(
                [client.get_experiment_by_name(experiment).experiment_id],
                filter_string=f"tags.`braid.search_worker` = '{victim}'",
            )
        except Exception:  # the experiment does not exist yet
            continue
        running = [r for r in runs if r.info.status == "RUNNING"]
        placed = list(home.glob("runs/*/*/workers/workers.json"))
        if running and placed:
            os.kill(json.loads(placed[0].read_text())[victim]["pid"], signal.SIGKILL)
            found["trial"] = running[0].data.tags["braid.trial_id"]


def test_the_nightly_deployment_runs_through_the_worker_into_postgres(servers, demo_contract_factory):
    """Through the stack's Prefect worker, with the search on two worker processes, one killed mid-trial."""
    stack, api = servers["stack"], servers["prefect_api"]
    env = {**servers["env"], "BRAID_PROJECT_DIR": str(ROOT)}
    if _deployment(api, "nightly-demo") is None:  # test_prefect_yaml_deploys_with_schedules deploys it
        done = subprocess.run(
            [str(BIN / "prefect"), "--no-prompt", "deploy", "--name", "nightly-demo"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    deployment = _deployment(api, "nightly-demo")
    for schedule in deployment["schedules"]:  # only the run started here may reach the worker
        httpx.patch(
            f"{api}/deployments/{deployment['id']}/schedules/{schedule['id']}", json={"active": False}, timeout=30
        ).raise_for_status()

    contract = demo_contract_factory(servers["root"] / "worker", rows=120, image_size=16, name="worker")
    params = {"contract": str(contract), "max_trials": 3, "epochs": 2, "tuner": "random", "workers": 2}
    client = MlflowClient(stack.mlflow_uri)
    killed: dict = {}
    killer = threading.Thread(
        target=_kill_a_worker_mid_trial,
        daemon=True,
        args=(client, "braid-worker", stack.folder.parent, "worker1", killed),
    )
    killer.start()
    started = subprocess.run(
        [str(BIN / "prefect"), "deployment", "run", "braid-training/nightly-demo", "--params", json.dumps(params)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", started.stdout).group(1)
    flow_run = _wait_final(api, flow_run_id)
    worker_log = Path(stack.processes["worker"].log).read_text()
    assert flow_run["state_type"] == "COMPLETED", worker_log[-4000:]
    assert flow_run["work_pool_name"] == "braid-process" and flow_run["infrastructure_pid"]
    assert flow_run_id in worker_log, "the stack's worker ran it"

    killer.join(timeout=5)
    experiment = client.get_experiment_by_name("braid-worker")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    trials = {r.data.tags["braid.trial_id"]: r for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert len(parents) == 1 and parents[0].data.tags["prefect.flow_run_id"] == flow_run_id
    parent = parents[0].info.run_id
    assert len(trials) == 3 and all(t.data.tags["mlflow.parentRunId"] == parent for t in trials.values())
    assert {t.data.tags["braid.search_worker"] for t in trials.values()} == {"worker0", "worker1"}
    assert "trial" in killed, "worker1 never ran a trial"
    dead = trials[killed["trial"]]
    assert dead.info.status == "FAILED" and "worker1 was killed" in dead.data.tags["braid.error"]
    assert all(t.info.status == "FINISHED" for i, t in trials.items() if i != killed["trial"])
    assert parents[0].data.metrics["search/trials_completed"] == 2
    version = client.get_model_version_by_alias("braid-worker", "champion")
    assert version.run_id == parent
    # The artifacts went through the server into its own folder, not onto the worker's disk.
    assert any((stack.folder / "mlflow-artifacts").rglob("*.html")), "the run report is in the served store"

    with psycopg2.connect(stack.database_url("mlflow")) as db, db.cursor() as cursor:
        cursor.execute("SELECT run_uuid FROM runs WHERE experiment_id = %s", (int(experiment.experiment_id),))
        assert {row[0] for row in cursor.fetchall()} == {parent, *(t.info.run_id for t in trials.values())}
        cursor.execute("SELECT version FROM model_versions WHERE name = 'braid-worker'")
        assert [str(row[0]) for row in cursor.fetchall()] == [version.version]
    with psycopg2.connect(stack.database_url("prefect")) as db, db.cursor() as cursor:
        cursor.execute("SELECT state_type FROM flow_run WHERE id = %s", (flow_run_id,))
        assert cursor.fetchone()[0] == "COMPLETED"
