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

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
}


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


def _braid_source() -> str:
    files = [*ROOT.glob("components/**/*.py"), *ROOT.glob("flows/**/*.py"), ROOT / "prefect.yaml"]
    return "\n".join(p.read_text() for p in files if p.exists())


# --------------------------------------------------------------------------- compose


def test_compose_has_the_expected_services():
    assert {"postgres", "mlflow", "prefect-server", "worker"} <= set(_services())


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
    for name, svc in services.items():
        test = svc.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"


def test_worker_reaches_the_servers_through_the_names_braid_reads():
    source = _braid_source()
    services = _services()
    for worker in ("worker", "worker-cpu"):
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


def test_worker_reserves_a_gpu_and_polls_the_process_pool():
    devices = _services()["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    command = _command("worker")
    assert command[:3] == ["prefect", "worker", "start"]
    assert _flag(command, "--pool") == "braid-process" and _flag(command, "--type") == "process"
    assert "braid-process" in (ROOT / "prefect.yaml").read_text()


def test_servers_store_in_postgres_databases_that_the_init_script_creates():
    created = set(re.findall(r"CREATE DATABASE (\w+)", (DOCKER / "postgres-init.sql").read_text()))
    mlflow_store = urlparse(_flag(_command("mlflow"), "--backend-store-uri"))
    prefect_store = urlparse(_env("prefect-server")["PREFECT_API_DATABASE_CONNECTION_URL"])
    assert mlflow_store.scheme == "postgresql" and prefect_store.scheme == "postgresql+asyncpg"
    for url in (mlflow_store, prefect_store):
        assert url.hostname == "postgres" and url.path.lstrip("/") in created
    init_mounts = [v for v in _services()["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert init_mounts and (DOCKER / init_mounts[0].split(":")[0]).is_file()


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


@pytest.mark.parametrize(("name", "base"), [("Dockerfile", "tensorflow/tensorflow:"), ("Dockerfile.cpu", "python:3.11-slim")])
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


def test_hadolint_when_available():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint binary not installed")
    for name in ("Dockerfile", "Dockerfile.cpu"):
        done = subprocess.run([hadolint, "--failure-threshold", "warning", str(DOCKER / name)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
