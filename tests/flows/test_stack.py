"""`braid stack up | status | down` as a user types them: the stack comes up on 127.0.0.1, says how to use
it, and goes away whole (no process, no open port); every mistake is one line."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from components.infra.stack import read_state

pytestmark = pytest.mark.slow
BRAID = str(Path(sys.executable).with_name("braid"))
ROOT = Path(__file__).resolve().parents[2]
ANY_PORTS = ["--postgres-port", "0", "--mlflow-port", "0", "--prefect-port", "0"]


def _braid(home: Path, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI")}
    return subprocess.run(
        [BRAID, *args],
        env={**base, "BRAID_HOME": str(home), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _running(int(entry.name)):
            with_group = (entry / "stat").read_text()
            if int(with_group[with_group.rindex(")") + 2 :].split()[2]) == pgid:
                members.append(int(entry.name))
    return members


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def home(stack_home):
    return stack_home


@pytest.mark.e2e  # the whole stack up and down
def test_up_status_down_leaves_nothing_behind(home):
    up = _braid(home, "stack", "up", *ANY_PORTS)
    assert up.returncode == 0, up.stdout + up.stderr
    stack = read_state(home)
    assert f"export PREFECT_API_URL={stack.prefect_api_url} MLFLOW_TRACKING_URI={stack.mlflow_uri}" in up.stdout
    assert set(stack.pids) == {"postgres", "mlflow", "prefect", "worker"}
    assert all(_listening(port) for port in (stack.ports.postgres, stack.ports.mlflow, stack.ports.prefect))
    try:
        again = _braid(home, "stack", "up", *ANY_PORTS, timeout=120)
        assert again.returncode == 0 and "already up" in again.stdout
        assert read_state(home).pids == stack.pids, "a second `up` starts nothing"
        status = _braid(home, "stack", "status", timeout=120)
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.count("running") == 4
    finally:
        down = _braid(home, "stack", "down", timeout=180)
    assert down.returncode == 0 and down.stdout.strip() == "stopped worker, prefect, mlflow, postgres", down.stdout
    assert not any(_running(pid) for pid in stack.pids.values())
    assert not any(_group_members(pid) for pid in stack.pids.values() if pid != stack.pids["postgres"])
    assert not any(_listening(port) for port in (stack.ports.postgres, stack.ports.mlflow, stack.ports.prefect))

    twice = _braid(home, "stack", "down", timeout=120)
    assert twice.returncode == 0 and "not running" in twice.stdout and "nothing to stop" in twice.stdout
    assert _braid(home, "stack", "status", timeout=120).returncode == 1


def test_up_without_postgres_binaries_says_what_to_install(home, tmp_path):
    done = _braid(home, "stack", "up", *ANY_PORTS, timeout=120, BRAID_PG_BIN=str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "apt-get install postgresql" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and read_state(home) is None


def test_up_on_a_taken_port_names_it(home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _braid(
            home, "stack", "up", "--postgres-port", "0", "--mlflow-port", str(port), "--prefect-port", "0", timeout=120
        )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is taken" in done.stderr and "--mlflow-port" in done.stderr
    assert read_state(home) is None
