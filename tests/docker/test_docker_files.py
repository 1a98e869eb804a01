"""The docker/ stack, checked without a Docker engine: compose wiring, Dockerfiles, CLI flags."""

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from components.settings import TELEMETRY_OFF

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


def _interpolate(text: str) -> str:
    """Compose's variable substitution, with every variable unset: `${X:-d}` -> d, `$$` -> `$`."""
    text = re.sub(r"(?<!\$)\$\{(\w+)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", text)
    return text.replace("$$", "$")


@cache
def _compose() -> dict:
    return yaml.safe_load(_interpolate((DOCKER / "compose.yaml").read_text()))


def _services() -> dict:
    return _compose()["services"]


def _env(service: str) -> dict[str, str]:
    env = _services()[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _command(service: str) -> list[str]:
    svc = _services()[service]
    entry = svc.get("entrypoint", [])
    command = svc.get("command", [])
    as_list = lambda v: shlex.split(v) if isinstance(v, str) else list(v)  # noqa: E731
    return as_list(entry) + as_list(command)


def _flag(command: list[str], name: str) -> str:
    for i, token in enumerate(command):
        if token == name:
            return command[i + 1]
        if token.startswith(name + "="):
            return token.split("=", 1)[1]
    raise AssertionError(f"{name} missing from {command}")


def _mounts(service: str) -> dict[str, str]:
    """Container path -> host source of each volume of `service` (short syntax)."""
    return {parts[1]: parts[0] for parts in (v.split(":") for v in _services()[service].get("volumes", []))}


def _one_shot(service: str) -> bool:
    return _services()[service].get("restart") == "no"


def _braid_source() -> str:
    files = [*ROOT.glob("components/**/*.py"), *ROOT.glob("flows/**/*.py"), ROOT / "prefect.yaml"]
    return "\n".join(p.read_text() for p in files if p.exists())


# --------------------------------------------------------------------------- compose


WORKERS = ("worker", "worker-gpu1", "worker-cpu")
GPU_WORKERS = ("worker", "worker-gpu1")


def test_compose_has_the_expected_services():
    assert {"postgres", "seaweedfs", "create-bucket", "mlflow", "prefect-server", *WORKERS, "demo"} <= set(_services())


def test_every_service_has_an_image_or_a_build_whose_files_exist():
    for name, svc in _services().items():
        assert "image" in svc or "build" in svc, name
        build = svc.get("build")
        if build is not None:
            context = DOCKER / (build if isinstance(build, str) else build.get("context", "."))
            assert context.is_dir(), f"{name}: build context {context} missing"
            dockerfile = context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
            assert dockerfile.is_file(), f"{name}: {dockerfile} missing"


def test_published_ports_bind_localhost_only():
    published = 0
    for name, svc in _services().items():
        for port in svc.get("ports", []):
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond localhost"
            published += 1
    assert published >= 2  # the MLflow and Prefect UIs
    assert "ports" not in _services()["postgres"]


def test_interpolation_keeps_escaped_dollars_for_the_container():
    assert _services()["postgres"]["healthcheck"]["test"][1] == "pg_isready -U ${POSTGRES_USER} -d ${POSTGRES_DB}"


def test_depends_on_targets_exist_and_healthchecks_back_their_conditions():
    services = _services()
    for name, svc in services.items():
        depends = svc.get("depends_on", {})
        for target in depends:
            assert target in services, f"{name} depends on unknown service {target}"
            if isinstance(depends, dict) and depends[target].get("condition") == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck for {name}"
            if isinstance(depends, dict) and depends[target].get("condition") == "service_completed_successfully":
                assert _one_shot(target), f"{name} waits for {target} to exit, but {target} restarts"
    for name, svc in services.items():
        if _one_shot(name):
            continue
        test = svc.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        assert svc.get("restart") == "unless-stopped", f"{name} is long-running but does not restart"
    assert {"create-bucket", "demo"} <= {name for name in services if _one_shot(name)}


def test_entrypoints_exist_in_the_image_or_are_mounted_into_it():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name, svc in _services().items():
        command = _command(name)
        if not command:
            continue  # the image's own entrypoint (postgres)
        if "build" in svc:
            # Braid's images install the project and its dependencies, as this venv does
            assert command[0] in scripts or (Path(sys.executable).parent / command[0]).exists(), f"{name}: {command[0]}"
        mounts = _mounts(name)
        for token in command:
            if token.startswith("/opt/braid/"):
                assert token in mounts, f"{name} runs {token}, which no volume mounts"
                assert (DOCKER / mounts[token]).is_file(), f"{name}: {mounts[token]} missing"


def test_workers_and_demo_reach_the_servers_through_the_names_braid_reads():
    source = _braid_source()
    services = _services()
    for worker in (*WORKERS, "demo"):
        env = _env(worker)
        for name in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI"):
            assert name in source, f"Braid never reads {name}"
        prefect = urlparse(env["PREFECT_API_URL"])
        assert prefect.hostname == "prefect-server" and prefect.path == "/api"
        assert str(prefect.port) == _flag(_command("prefect-server"), "--port")
        mlflow = urlparse(env["MLFLOW_TRACKING_URI"])
        assert mlflow.hostname in services
        assert str(mlflow.port) == _flag(_command("mlflow"), "--port")
        # MLflow 3 answers 403 to a Host header outside --allowed-hosts
        allowed = _flag(_command("mlflow"), "--allowed-hosts").split(",")
        assert any(fnmatch.fnmatch(mlflow.netloc, pattern) for pattern in allowed)
        for name in env:
            if name.startswith("BRAID_"):
                assert name in source, f"{worker} sets {name}, which nothing in Braid reads"


def test_workers_poll_the_process_pool_one_flow_run_at_a_time():
    for worker in WORKERS:
        command = _command(worker)
        assert command[:3] == ["prefect", "worker", "start"]
        assert _flag(command, "--pool") == "braid-process" and _flag(command, "--type") == "process"
        assert _flag(command, "--limit") == "1", f"{worker}: two flow runs would share one GPU"
    assert "braid-process" in (ROOT / "prefect.yaml").read_text()


def test_each_gpu_worker_reserves_one_gpu_of_its_own():
    pinned = []
    for worker in GPU_WORKERS:
        devices = _services()[worker]["deploy"]["resources"]["reservations"]["devices"]
        assert len(devices) == 1 and devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
        assert "count" not in devices[0] and len(devices[0]["device_ids"]) == 1, f"{worker} must pin one GPU"
        pinned.append(devices[0]["device_ids"][0])
        # device_ids already narrows the container to that GPU, which it sees as device 0
        assert "CUDA_VISIBLE_DEVICES" not in _env(worker)
    assert len(set(pinned)) == len(pinned), f"GPU workers share a GPU by default: {pinned}"
    assert "profiles" not in _services()["worker"]  # a plain `up` starts the first GPU worker
    assert _services()["worker-gpu1"]["profiles"]


def test_workers_can_be_scaled():
    for worker in WORKERS:
        svc = _services()[worker]
        # a fixed container name, host port or worker name would clash between replicas of `--scale`
        assert "container_name" not in svc and "ports" not in svc, worker
        assert "--name" not in _command(worker) and "-n" not in _command(worker), worker


def test_servers_store_in_postgres_databases_that_the_init_script_creates():
    created = set(re.findall(r"CREATE DATABASE (\w+)", (DOCKER / "postgres-init.sql").read_text()))
    mlflow_store = urlparse(_flag(_command("mlflow"), "--backend-store-uri"))
    prefect_store = urlparse(_env("prefect-server")["PREFECT_API_DATABASE_CONNECTION_URL"])
    assert mlflow_store.scheme == "postgresql" and prefect_store.scheme == "postgresql+asyncpg"
    for url in (mlflow_store, prefect_store):
        assert url.hostname == "postgres" and url.path.lstrip("/") in created
    init_mounts = [v for v in _services()["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert init_mounts and (DOCKER / init_mounts[0].split(":")[0]).is_file()


def test_mlflow_keeps_artifacts_in_the_bucket_that_create_bucket_makes():
    services = _services()
    mlflow, store = _command("mlflow"), _command("seaweedfs")
    destination = urlparse(_flag(mlflow, "--artifacts-destination"))
    assert destination.scheme == "s3" and destination.path.strip("/")
    assert "--serve-artifacts" in mlflow
    bucket = _env("create-bucket")["S3_BUCKET"]
    assert destination.netloc == bucket

    s3_port = _flag(store, "-s3.port")
    assert "-s3" in store and _flag(store, "-ip.bind") == "0.0.0.0"  # the healthcheck calls 127.0.0.1
    assert f"127.0.0.1:{s3_port}/" in " ".join(services["seaweedfs"]["healthcheck"]["test"])
    for client in ("mlflow", "create-bucket"):
        env = _env(client)
        endpoint = urlparse(env["MLFLOW_S3_ENDPOINT_URL"])
        assert endpoint.hostname == "seaweedfs" and str(endpoint.port) == s3_port, client
        assert env["AWS_ACCESS_KEY_ID"] == _env("seaweedfs")["S3_ACCESS_KEY_ID"], client
        assert env["AWS_SECRET_ACCESS_KEY"] == _env("seaweedfs")["S3_SECRET_ACCESS_KEY"], client
    assert services["mlflow"]["depends_on"]["create-bucket"]["condition"] == "service_completed_successfully"
    assert services["create-bucket"]["depends_on"]["seaweedfs"]["condition"] == "service_healthy"
    # artifacts go through the server: processes that run flows hold no S3 keys
    for name in (*WORKERS, "demo"):
        assert not {"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"} & set(_env(name)), name


def test_object_store_image_is_pinned_and_mlflow_image_has_the_s3_and_postgres_clients():
    image = _services()["seaweedfs"]["image"]
    assert image.startswith("chrislusf/seaweedfs:") and re.fullmatch(r"\d+\.\d+", image.split(":")[1]), image
    for name in ("mlflow", "create-bucket"):
        assert _services()[name]["build"]["dockerfile"] == "docker/Dockerfile.cpu", name
    installs = " ".join(
        rest for kw, rest in _instructions(DOCKER / "Dockerfile.cpu") if kw == "RUN" and "pip install" in rest
    )
    assert '"boto3' in installs and '"psycopg2-binary' in installs


def test_scripts_read_only_variables_their_service_sets():
    start = (DOCKER / "seaweedfs-start.sh").read_text()
    needed = set(re.findall(r"\$\{(\w+):\?", start))
    assert {"S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"} <= needed
    assert needed <= set(_env("seaweedfs"))
    create = (DOCKER / "create_bucket.py").read_text()
    needed = set(re.findall(r"os\.environ\[\"(\w+)\"\]", create))
    assert {"MLFLOW_S3_ENDPOINT_URL", "S3_BUCKET"} <= needed <= set(_env("create-bucket"))


def test_demo_runs_the_pipeline_once_after_the_servers_are_healthy():
    demo = _services()["demo"]
    assert _command("demo")[:2] == ["braid", "demo"]
    assert demo["depends_on"]["prefect-server"]["condition"] == "service_healthy"
    assert demo["depends_on"]["mlflow"]["condition"] == "service_healthy"
    assert _one_shot("demo") and demo["profiles"], "a plain `up` must not train"
    # `braid demo` writes the demo data under BRAID_HOME and the demo contract reads ../.braid/demo
    home = _env("demo")["BRAID_HOME"]
    assert _mounts("demo")[home] == "braid-home" and "braid-home" in {_mounts(w).get(home) for w in WORKERS}
    contract = yaml.safe_load((ROOT / "data_contracts" / "demo.yaml").read_text())
    contract_dir = Path(_env("demo")["BRAID_PROJECT_DIR"]) / "data_contracts"
    assert os.path.normpath(contract_dir / contract["source"]["path"]).startswith(home + "/")


def test_named_volumes_are_declared_and_bind_sources_exist():
    declared = set(_compose().get("volumes", {}))
    for name, svc in _services().items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DOCKER / source).exists(), f"{name}: bind source {source} missing"
            elif not source.startswith(("/", "..")):
                assert source in declared, f"{name}: volume {source} not declared"


def test_telemetry_is_off_in_every_braid_service():
    for name, svc in _services().items():
        if "build" in svc:
            env = _env(name)
            for key, value in TELEMETRY_OFF.items():
                assert env.get(key) == value, f"{name}: {key}={env.get(key)}"


def test_env_example_lists_the_variables_compose_uses():
    text = (DOCKER / "compose.yaml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", text))
    example = dict(
        line.split("=", 1)
        for line in (DOCKER / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert used <= set(example), f"missing from .env.example: {used - set(example)}"
    stale = set(example) - used - set(TELEMETRY_OFF)
    assert not stale, f".env.example lists variables compose never reads: {stale}"
    # defaults in .env.example are the ones compose falls back to
    for name, default in re.findall(r"(?<!\$)\$\{(\w+):-([^}]*)\}", text):
        assert example[name] == default, name


# --------------------------------------------------------------------------- CLI flags


@cache
def _help(*args: str) -> str:
    exe = Path(sys.executable).parent / args[0]
    if not exe.exists():
        pytest.skip(f"{args[0]} is not installed next to {sys.executable}")
    env = {**os.environ, "COLUMNS": "250", **TELEMETRY_OFF}
    done = subprocess.run([str(exe), *args[1:], "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("service", "cli"),
    [
        ("mlflow", ("mlflow", "server")),
        ("prefect-server", ("prefect", "server", "start")),
        ("worker", ("prefect", "worker", "start")),
        ("worker-gpu1", ("prefect", "worker", "start")),
        ("worker-cpu", ("prefect", "worker", "start")),
        ("demo", ("braid", "demo")),
    ],
)
def test_compose_commands_use_flags_the_installed_clis_accept(service, cli):
    command = _command(service)
    assert command[: len(cli)] == list(cli)
    flags = {token.split("=", 1)[0] for token in command if token.startswith("--")}
    assert flags
    accepted = set(re.findall(r"--[a-z][a-z0-9-]*", _help(*cli)))
    assert flags <= accepted, f"{' '.join(cli)} does not accept {flags - accepted}"


# --------------------------------------------------------------------------- Dockerfiles


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    logical, pending = [], ""
    for line in dockerfile.read_text().splitlines():
        if line.strip().startswith("#") and not pending:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full and not full.startswith("#"):
            keyword, _, rest = full.partition(" ")
            logical.append((keyword.upper(), rest.strip()))
    return logical


@pytest.mark.parametrize(
    ("name", "base"), [("Dockerfile", "tensorflow/tensorflow:"), ("Dockerfile.cpu", "python:3.11-slim")]
)
def test_dockerfile_copies_existing_files_and_runs_braid_as_non_root(name, base):
    dockerfile = DOCKER / name
    steps = _instructions(dockerfile)
    args = dict(rest.split("=", 1) for kw, rest in steps if kw == "ARG" and "=" in rest)
    froms = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest) for kw, rest in steps if kw == "FROM"]
    assert froms and froms[-1].startswith(base)

    ignore = (DOCKER / f"{name}.dockerignore").read_text().splitlines()
    copies = [rest.split() for kw, rest in steps if kw == "COPY"]
    assert copies
    for parts in copies:
        sources = [p for p in parts[:-1] if not p.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"{name}: COPY source {source} missing from the repo"
            assert f"!{source}" in ignore, f"{name}.dockerignore keeps {source} out of the context"

    users = [rest for kw, rest in steps if kw == "USER"]
    assert users and users[-1] not in ("root", "0")
    entrypoint = json.loads(next(rest for kw, rest in reversed(steps) if kw == "ENTRYPOINT"))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint[0] in scripts

    env_text = " ".join(rest for kw, rest in steps if kw == "ENV")
    for key, value in TELEMETRY_OFF.items():
        assert f"{key}={value}" in env_text, f"{name}: {key} not set to {value}"
    assert any(kw == "RUN" and "pip install" in rest and " ." in rest for kw, rest in steps)

    # `braid demo` / `braid deploy` read data_contracts/ and prefect.yaml beside the imported `flows`
    # package (flows/cli.py PROJECT_ROOT): a non-editable install would import it from site-packages
    workdir = next(rest for kw, rest in reversed(steps) if kw == "WORKDIR")
    assert any(kw == "RUN" and re.search(r"pip install [^&]*(-e|--editable) \.", rest) for kw, rest in steps)
    assert f"BRAID_PROJECT_DIR={workdir}" in env_text
    copied = {source.rstrip("/") for parts in copies for source in parts[:-1]}
    assert {"data_contracts", "prefect.yaml"} <= copied


def test_hadolint_when_available():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint binary not installed")
    for name in ("Dockerfile", "Dockerfile.cpu"):
        done = subprocess.run(
            [hadolint, "--failure-threshold", "warning", str(DOCKER / name)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- scripts the services run


def _start_seaweedfs(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run seaweedfs-start.sh with a fake `weed` that prints the arguments it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    weed = bin_dir / "weed"
    weed.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    weed.chmod(0o755)
    command = _command("seaweedfs")
    assert command[0] == "/bin/sh"
    script = DOCKER / _mounts("seaweedfs")[command[1]]
    full_env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "S3_CONFIG_FILE": str(tmp_path / "s3.json"), **env}
    return subprocess.run(["sh", str(script), *command[2:]], capture_output=True, text=True, env=full_env, timeout=30)


def test_seaweedfs_start_writes_the_identity_from_the_env_and_runs_the_services_command(tmp_path):
    done = _start_seaweedfs(tmp_path, S3_ACCESS_KEY_ID="key-1", S3_SECRET_ACCESS_KEY="secret_2")
    assert done.returncode == 0, done.stderr
    args = done.stdout.splitlines()
    assert args == [*_command("seaweedfs")[2:], f"-s3.config={tmp_path / 's3.json'}"]
    config = json.loads((tmp_path / "s3.json").read_text())
    (identity,) = config["identities"]
    assert identity["credentials"] == [{"accessKey": "key-1", "secretKey": "secret_2"}]
    assert {"Read", "Write", "List"} <= set(identity["actions"])
    assert (tmp_path / "s3.json").stat().st_mode & 0o077 == 0  # the secret is readable by its owner only


@pytest.mark.parametrize("secret", ["", 'with"quote', "back\\slash", "has space"])
def test_seaweedfs_start_refuses_a_missing_or_unsafe_key(tmp_path, secret):
    done = _start_seaweedfs(tmp_path, S3_ACCESS_KEY_ID="braid", S3_SECRET_ACCESS_KEY=secret)
    assert done.returncode != 0
    assert "S3_SECRET_ACCESS_KEY" in done.stderr or "S3 keys" in done.stderr
    assert not done.stdout  # weed never started
    assert not (tmp_path / "s3.json").exists()


class _ClientError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


class _FakeS3:
    def __init__(self, head_error: str | None):
        self.head_error, self.created = head_error, []

    def head_bucket(self, Bucket):  # noqa: N803 - boto3's spelling
        if self.head_error:
            raise _ClientError(self.head_error)

    def create_bucket(self, Bucket):  # noqa: N803
        self.created.append(Bucket)


@pytest.fixture
def create_bucket(monkeypatch):
    import importlib.util
    import types

    exceptions = types.ModuleType("botocore.exceptions")
    exceptions.ClientError = _ClientError
    monkeypatch.setitem(sys.modules, "botocore", types.ModuleType("botocore"))
    monkeypatch.setitem(sys.modules, "botocore.exceptions", exceptions)
    spec = importlib.util.spec_from_file_location("create_bucket", DOCKER / "create_bucket.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("head_error", "created"), [(None, []), ("404", ["mlflow"]), ("NoSuchBucket", ["mlflow"])])
def test_create_bucket_creates_only_a_missing_bucket(create_bucket, head_error, created):
    s3 = _FakeS3(head_error)
    assert create_bucket.ensure_bucket(s3, "mlflow") == bool(created)
    assert s3.created == created


def test_create_bucket_fails_on_wrong_keys_instead_of_creating(create_bucket):
    s3 = _FakeS3("403")
    with pytest.raises(_ClientError):
        create_bucket.ensure_bucket(s3, "mlflow")
    assert s3.created == []
