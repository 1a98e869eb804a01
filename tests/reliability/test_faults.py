"""Fault injection: the pipeline is killed, its tracking server dies, a trial blows up, runs collide.

Every fault is real: `braid run` (or a step of the pipeline) runs in its own process group, which is
SIGKILLed mid-work; a real `mlflow server` is stopped under a running pipeline; four pipelines share
one SQLite store at once; Braid's home is a path that cannot hold files. After each fault the tests
check what a user would: the command's exit code and message, and that the records left behind
(search directory, preprocessed shards, MLflow runs, registry aliases) are consistent and resumable.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.ports import free_port
from tests.conftest import make_demo_contract

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PIPELINE_TIMEOUT = 840  # one `braid run` on a busy 2-core machine takes about 2 minutes


# ------------------------------------------------------------------------------------------ helpers
def _env(tmp: Path, home: Path | None = None, **extra: str) -> dict[str, str]:
    """A subprocess environment with every store under `tmp`: local SQLite MLflow, own Prefect home."""
    env = {k: v for k, v in os.environ.items() if k not in {"MLFLOW_TRACKING_URI", "PREFECT_API_URL", "BRAID_HOME"}}
    env.update(
        {
            "BRAID_HOME": str(home or tmp / "home"),
            "PREFECT_HOME": str(tmp / "prefect"),
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
            "PYTHONUNBUFFERED": "1",
            "CUDA_VISIBLE_DEVICES": "",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
    )
    env.update(extra)
    return env


class Proc:
    """A command in its own process group (so SIGKILL takes the Prefect server child with it)."""

    def __init__(self, args: list[str], env: dict[str, str], logs: Path, name: str):
        logs.mkdir(parents=True, exist_ok=True)
        self.name, self.stdout, self.stderr = name, logs / f"{name}.out", logs / f"{name}.err"
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.popen = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=err, start_new_session=True)

    def running(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float = PIPELINE_TIMEOUT) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} still running after {timeout}s:\n{self.tail()}") from None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=60)

    def err_text(self) -> str:
        return self.stderr.read_text(errors="replace")

    def tail(self, chars: int = 4000) -> str:
        out = self.stdout.read_text(errors="replace")[-chars:]
        return f"--- {self.name} stdout ---\n{out}\n--- stderr ---\n{self.err_text()[-chars:]}"


@pytest.fixture
def procs():
    """Start processes through this; any still running at the end of the test is killed."""
    started: list[Proc] = []

    def start(args: list[str], env: dict[str, str], logs: Path, name: str) -> Proc:
        proc = Proc(args, env, logs, name)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.running():
            proc.kill()


def braid(*args: str) -> list[str]:
    return [str(BIN / "braid"), *args]


def run_args(contract: Path, trials: int = 1) -> list[str]:
    return braid("run", str(contract), "--max-trials", str(trials), "--epochs", "1", "--tuner", "random")


def wait_until(what: str, check, watch: list[Proc] = (), timeout: float = 600, every: float = 0.25):
    """Poll `check()` until it returns something truthy; fail early if a watched process exits."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        for proc in watch:
            if not proc.running():
                raise AssertionError(f"{proc.name} exited ({proc.popen.returncode}) before {what}:\n{proc.tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}:\n" + "\n".join(p.tail() for p in watch)
            )
        time.sleep(every)


def trial_statuses(search_dir: Path) -> dict[str, str]:
    """keras-tuner's view: trial id -> status, from each trial_*/trial.json."""
    out = {}
    for path in sorted(search_dir.glob("trial_*/trial.json")):
        try:
            out[str(json.loads(path.read_text())["trial_id"])] = json.loads(path.read_text())["status"]
        except (OSError, ValueError, KeyError):
            continue  # being written right now
    return out


def trial_runs_sql(db: Path) -> list[tuple[str, str]]:
    """(braid.trial_id, status) of every trial run in a local MLflow store, read-only (safe to poll)."""
    if not db.is_file():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            return conn.execute(
                "SELECT t.value, r.status FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                "WHERE t.key = 'braid.trial_id'"
            ).fetchall()
    except sqlite3.Error:
        return []


def client_for(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def split_runs(client, experiment: str):
    """(parent runs, trial runs) of an experiment."""
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment}"
    runs = client.search_runs([found.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def assert_registry_consistent(client, name: str) -> list:
    """Every version of `name` has its model files; every alias points at such a version."""
    from mlflow.artifacts import list_artifacts

    versions = client.search_model_versions(f"name = '{name}'")
    for version in versions:
        source = version.source or ""
        if getattr(version, "model_id", None) or source.startswith("models:/m-"):
            listed = client.list_logged_model_artifacts(version.model_id or source.rsplit("/", 1)[-1])
        else:
            listed = list_artifacts(artifact_uri=source, tracking_uri=client.tracking_uri)
        files = {Path(a.path).name for a in listed}
        assert "MLmodel" in files, f"{name} v{version.version} has no model files at {version.source}: {files}"
    if versions:
        good = {v.version for v in versions}
        for alias, number in client.get_registered_model(name).aliases.items():
            assert str(number) in {str(v) for v in good}, f"alias {alias} -> missing version {number}"
    return versions


class MlflowServer:
    """A real `mlflow server` (SQLite backend, local artifacts) that a test can crash and restart."""

    def __init__(self, root: Path, procs):
        self.root, self.procs, self.port = root, procs, free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc: Proc | None = None
        self.starts = 0

    def start(self, timeout: float = 240) -> None:
        import httpx

        self.starts += 1
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        env.pop("MLFLOW_TRACKING_URI", None)
        self.proc = self.procs(
            [
                str(BIN / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--backend-store-uri",
                f"sqlite:///{self.root / 'mlflow.db'}",
                "--artifacts-destination",
                str(self.root / "artifacts"),
                "--workers",
                "1",
            ],
            env,
            self.root / "logs",
            f"mlflow-server-{self.starts}",
        )

        def healthy() -> bool:
            try:
                return httpx.get(f"{self.uri}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until("the MLflow server to answer", healthy, [self.proc], timeout=timeout, every=0.3)

    def crash(self) -> None:
        assert self.proc is not None
        self.proc.kill(signal.SIGKILL)


# ---------------------------------------------------------------------------- 1. kill during search
@pytest.mark.e2e
class TestKilledSearchResumes:  # its own class: pytest-xdist runs it beside the rest
    def test_killed_search_resumes_the_same_run_without_repeating_finished_trials(self, tmp_path, procs):
        contract = make_demo_contract(tmp_path, rows=100, image_size=8, name="killsearch", refit=False)
        env, home = _env(tmp_path), tmp_path / "home"
        db, runs = home / "mlflow.db", home / "runs" / "killsearch"

        first = procs(run_args(contract, trials=3), env, tmp_path / "logs", "first")

        def second_trial_tracked():
            dirs = list(runs.glob("*/"))
            if not dirs or trial_statuses(dirs[0]).get("0") != "COMPLETED":
                return None
            return ("1", "RUNNING") in trial_runs_sql(db) and dirs[0]

        search_dir = wait_until(
            "trial 0 to complete and trial 1 to start", second_trial_tracked, [first], timeout=PIPELINE_TIMEOUT
        )
        first.kill()
        parent_id = search_dir.name
        before = trial_statuses(search_dir)
        assert before["0"] == "COMPLETED" and before.get("1") != "COMPLETED", before
        assert ("1", "RUNNING") in trial_runs_sql(db), "a SIGKILLed trial leaves its run RUNNING"
        trial0_written = (search_dir / "trial_0" / "trial.json").stat().st_mtime_ns

        second = procs(run_args(contract, trials=3), env, tmp_path / "logs", "second")
        assert second.wait() == 0, second.tail()

        assert [p.name for p in runs.iterdir() if p.is_dir()] == [parent_id], "the resumed run reuses its search dir"
        after = trial_statuses(search_dir)
        assert sorted(s for s in after.values()) == ["COMPLETED"] * 3, after
        assert (search_dir / "trial_0" / "trial.json").stat().st_mtime_ns == trial0_written, "trial 0 was re-run"

        client = client_for(f"sqlite:///{db}")
        parents, children = split_runs(client, "braid-killsearch")
        assert [p.info.run_id for p in parents] == [parent_id], "the same MLflow parent run is reused"
        assert parents[0].info.status == "FINISHED"
        assert all(c.data.tags["mlflow.parentRunId"] == parent_id for c in children)
        by_status: dict[str, list[str]] = {}
        for child in children:
            by_status.setdefault(child.info.status, []).append(child.data.tags["braid.trial_id"])
        assert "RUNNING" not in by_status, by_status
        assert sorted(by_status.get("FINISHED", [])) == sorted(after), "one FINISHED trial run per completed trial"
        assert [c for c in children if c.data.tags["braid.trial_id"] == "0"][0].info.status == "FINISHED"
        assert len([c for c in children if c.data.tags["braid.trial_id"] == "0"]) == 1, "trial 0 is not repeated"
        killed = [c for c in children if c.info.status == "KILLED"]
        assert [c.data.tags["braid.trial_id"] for c in killed] == ["1"], by_status
        assert "killed" in killed[0].data.tags["braid.error"]
        assert parents[0].data.metrics["search/trials_completed"] == 3
        champion = client.get_model_version_by_alias("braid-killsearch", "champion")
        assert champion.run_id == parent_id


# ---------------------------------------------------------------------- 2. kill during preprocessing
_PREPROCESS = """
import sys
from pathlib import Path
from components import pipeline
from components.data.contract import load_contract
from components.layout import Layout
from components.data.preprocess import preprocess
contract = load_contract(sys.argv[1])
layout = Layout.default()
data_hash = pipeline.fingerprint(contract)
print("data_hash", data_hash, flush=True)
# small batches and shards: many shard files, each first written under a temporary name
preprocess(contract, layout, data_hash=data_hash, batch_rows=100, shard_rows=150, workers=1)
"""


@pytest.mark.e2e
def test_killed_preprocessing_leaves_no_manifest_and_no_half_shard_and_reruns_clean(tmp_path, procs):
    from components import pipeline
    from components.data.contract import load_contract
    from components.data.preprocess import _sha256
    from components.data.state import Manifest
    from components.layout import Layout

    contract_path = make_demo_contract(tmp_path, rows=3000, image_size=8, name="killprep", refit=False)
    contract = load_contract(contract_path)
    env = _env(tmp_path)
    layout = Layout(tmp_path / "home")
    data_hash = pipeline.fingerprint(contract)
    out = layout.preprocessed(contract.name, data_hash)

    proc = procs([sys.executable, "-c", _PREPROCESS, str(contract_path)], env, tmp_path / "logs", "preprocess")
    shards = out / "shards"
    wait_until(
        "two finished shards", lambda: len(list(shards.glob("*-*.tfrecord"))) >= 2, [proc], timeout=600, every=0.02
    )
    proc.kill()
    assert proc.popen.returncode == -signal.SIGKILL, "the process was killed mid-preprocessing"
    assert not (out / "manifest.json").exists(), "a killed run must not leave a manifest"

    import tensorflow as tf

    for record in shards.glob("*.tfrecord"):  # final names only ever hold complete shards
        rows = sum(1 for _ in tf.data.TFRecordDataset(str(record)))
        assert rows == 150, f"{record.name} has {rows} rows: a half-written file under a final name"
    temps = [p.name for p in out.rglob("*") if p.is_file() and p.name.endswith(".tmp")]
    assert all(name.startswith(".") for name in temps), temps

    result = pipeline.preprocess(contract, layout, data_hash, None)
    assert result.reused is False, "the incomplete directory must be rebuilt, not reused"
    assert sum(result.rows.values()) == 3000
    manifest = Manifest.from_json((out / "manifest.json").read_text())
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.suffix in {".tfrecord", ".parquet"}}
    assert on_disk == {s.path for s in manifest.shards}, "leftover shards of the killed run"
    assert not [p for p in out.rglob("*.tmp")], "temporary files left behind"
    for shard in manifest.shards:
        assert _sha256(out / shard.path) == shard.sha256, shard.path
        assert (out / shard.path).stat().st_size == shard.bytes
    assert pipeline.preprocess(contract, layout, data_hash, None).reused is True


# --------------------------------------------------------------------------- 3. tracking server dies
def _server_env(tmp: Path, server: MlflowServer, **extra: str) -> dict[str, str]:
    return _env(
        tmp,
        MLFLOW_TRACKING_URI=server.uri,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="20",
        **extra,
    )


@pytest.mark.e2e
class TestTrackingServerRestarted:  # its own class: pytest-xdist runs it beside the rest
    def test_tracking_server_restarted_mid_run_the_run_finishes(self, tmp_path, procs):
        server = MlflowServer(tmp_path / "server", procs)
        server.start()
        contract = make_demo_contract(tmp_path, rows=100, image_size=8, name="blip", refit=False)
        # Patience enough for a server restart on a busy machine (about 20 s here).
        env = _server_env(tmp_path, server, BRAID_TRACKING_RETRIES="12", BRAID_TRACKING_MAX_WAIT_S="120")
        run = procs(run_args(contract), env, tmp_path / "logs", "run")
        wait_until(
            "the first trial",
            lambda: list((tmp_path / "home" / "runs").glob("blip/*/trial_0")),
            [run],
            timeout=PIPELINE_TIMEOUT,
            every=0.1,
        )
        server.crash()
        server.start()
        assert run.wait() == 0, run.tail()

        client = client_for(server.uri)
        parents, children = split_runs(client, "braid-blip")
        assert len(parents) == 1 and parents[0].info.status == "FINISHED"
        assert client.get_model_version_by_alias("braid-blip", "champion").run_id == parents[0].info.run_id
        assert_registry_consistent(client, "braid-blip")
        assert [c.info.status for c in children] == ["FINISHED"], "the trial run survives the restart, finished"


@pytest.mark.e2e
class TestTrackingServerDown:  # its own class: pytest-xdist runs it beside the rest
    def test_tracking_server_down_fails_with_one_line_and_leaves_registry_consistent(self, tmp_path, procs):
        server = MlflowServer(tmp_path / "server", procs)
        server.start()
        contract = make_demo_contract(tmp_path, rows=100, image_size=8, name="down", refit=False)
        run = procs(
            run_args(contract), _server_env(tmp_path, server, BRAID_TRACKING_MAX_WAIT_S="5"), tmp_path / "logs", "run"
        )
        wait_until(
            "the first trial",
            lambda: list((tmp_path / "home" / "runs").glob("down/*/trial_0")),
            [run],
            timeout=PIPELINE_TIMEOUT,
            every=0.1,
        )
        server.crash()
        code = run.wait()

        server.start()
        client = client_for(server.uri)
        versions = assert_registry_consistent(client, "braid-down") if client.search_registered_models() else []
        parents, _ = split_runs(client, "braid-down")
        assert len(parents) == 1 and parents[0].info.status in {"RUNNING", "FAILED", "KILLED"}
        assert all(v.run_id == parents[0].info.run_id for v in versions)

        assert code == 2, run.tail()
        errors = [line for line in run.err_text().splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and server.uri in errors[0], run.tail()
        assert "Traceback" not in run.err_text(), run.tail()


# -------------------------------------------------------------------------------- 4. a trial crashes
class _PoisonFirstTrial:
    """A Keras callback that sets the first trial's weights to NaN, so its loss is NaN (later trials
    are left alone: keras-tuner deep-copies callbacks per trial, the class attribute survives)."""

    poisoned = False

    def __new__(cls):
        import keras

        class Poison(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if not _PoisonFirstTrial.poisoned:
                    _PoisonFirstTrial.poisoned = True
                    for variable in self.model.trainable_variables:
                        variable.assign(variable * float("nan"))

        return Poison()


class _Recorder:
    def __init__(self):
        self.begun: list[str] = []
        self.ended: list[tuple[str, str, str | None]] = []

    def on_trial_begin(self, trial_id, hyperparameters):
        self.begun.append(trial_id)

    def on_trial_end(self, trial_id, status, metrics, error, model_size, duration_s):
        self.ended.append((trial_id, status, error))


def test_nan_trial_fails_and_the_search_goes_on(tmp_path):
    import numpy as np

    import components as ak
    from components.tracking import Tracker, TrackingConfig

    tracker = Tracker(
        TrackingConfig(
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=(tmp_path / "artifacts").as_uri()
        )
    )
    experiment = tracker.experiment_id("braid-nan")
    parent = tracker.start_run(experiment, "nan")
    recorder = _Recorder()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32")
    _PoisonFirstTrial.poisoned = False
    model = ak.AutoModel(
        inputs=ak.StructuredDataInput(name="tabular"),
        outputs=ak.RegressionHead(name="target"),
        max_trials=2,
        tuner="random",
        seed=3,
        directory=tmp_path / "search",
        overwrite=True,
        observers=[recorder, tracker.trial_observer(experiment, parent)],
    )
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[_PoisonFirstTrial()])

    assert len(recorder.begun) == 2, "the search goes on after the failed trial"
    (first_id, first_status, first_error), (second_id, second_status, _) = recorder.ended
    assert first_status == "FAILED" and "nan" in (first_error or "").lower(), recorder.ended
    assert second_status == "COMPLETED"
    assert [r["status"] for r in model.leaderboard()][0] == "COMPLETED"

    children = {r.data.tags["braid.trial_id"]: r for r in tracker.children(parent)}
    assert children[first_id].info.status == "FAILED"
    assert "nan" in children[first_id].data.tags["braid.error"].lower()
    assert children[second_id].info.status == "FINISHED"


# ----------------------------------------------------------------------------- 5. concurrent runs
@pytest.mark.e2e
class TestFourConcurrentRuns:  # its own class: pytest-xdist runs it beside the rest
    def test_four_concurrent_runs_share_one_sqlite_store(self, tmp_path, procs):
        home = tmp_path / "home"
        env = _env(tmp_path, home)
        env.pop("PREFECT_HOME")  # as a user gets it: Braid's default, under the shared (not yet created) BRAID_HOME
        names = ["c1", "c2", "c3", "c4"]
        contracts = {
            n: make_demo_contract(tmp_path / n, rows=60, image_size=8, seed=i, name=n, refit=False)
            for i, n in enumerate(names)
        }
        runs = {n: procs(run_args(contracts[n]), env, tmp_path / "logs", n) for n in names}
        codes = {n: run.wait(timeout=PIPELINE_TIMEOUT) for n, run in runs.items()}
        assert codes == dict.fromkeys(names, 0), "\n".join(runs[n].tail() for n in names if codes[n])

        client = client_for(f"sqlite:///{home / 'mlflow.db'}")
        experiments = set()
        for name in names:
            parents, children = split_runs(client, f"braid-{name}")
            assert len(parents) == 1 and parents[0].info.status == "FINISHED"
            parent = parents[0]
            experiments.add(parent.info.experiment_id)
            assert parent.data.tags["braid.contract"] == name
            assert len(children) == 1 and children[0].info.status == "FINISHED"
            search_dirs = [p.name for p in (home / "runs" / name).iterdir()]
            assert search_dirs == [parent.info.run_id], f"{name} has its own search directory"
            champion = client.get_model_version_by_alias(f"braid-{name}", "champion")
            assert champion.run_id == parent.info.run_id, f"{name}'s champion comes from {name}'s run"
            assert_registry_consistent(client, f"braid-{name}")
            saved = Path(
                client.download_artifacts(parent.info.run_id, f"contract/{name}.yaml", str(tmp_path / "dl" / name))
            )
            assert saved.read_text() == contracts[name].read_text(), f"{name}'s contract artifact was clobbered"
        assert len(experiments) == 4


# ----------------------------------------------------------------------- 6. unwritable output place
def test_unwritable_braid_home_is_a_clear_error(tmp_path, procs):
    contract = make_demo_contract(tmp_path, rows=60, image_size=8, name="nowhere", refit=False)
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a directory")
    home = blocker / "home"  # even root cannot create a directory under a regular file
    run = procs(run_args(contract), _env(tmp_path, home), tmp_path / "logs", "run")
    assert run.wait() == 2, run.tail()
    errors = [line for line in run.err_text().splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(blocker) in errors[0], run.tail()


def test_unwritable_braid_home_with_default_prefect_home_is_a_clear_error(tmp_path, procs):
    contract = make_demo_contract(tmp_path, rows=60, image_size=8, name="nowhere", refit=False)
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a directory")
    env = _env(tmp_path, blocker / "home", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="30")
    env.pop("PREFECT_HOME")
    run = procs(run_args(contract), env, tmp_path / "logs", "run")
    code = run.wait()
    errors = [line for line in run.err_text().splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and str(blocker) in errors[0], run.tail()
