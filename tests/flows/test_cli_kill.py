"""`kill -9` of `braid run` leaves no process it started: its Prefect API server dies with it."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e]  # kills a whole `braid run`: `make test-e2e`
BRAID = str(Path(sys.executable).with_name("braid"))
SERVER = "prefect.server.api.server:create_app"


def _processes() -> dict[int, tuple[int, int, str, str]]:
    """pid → (parent pid, session id, state, command line) of every live process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), int(fields[3]), fields[0], command)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_sigkill_of_braid_run_leaves_no_braid_process(tmp_path, demo_contract_factory):
    contract = demo_contract_factory(tmp_path, rows=60, image_size=8)
    env = {**os.environ, "BRAID_HOME": str(tmp_path / "home"), "PREFECT_HOME": str(tmp_path / "prefect")}
    for key in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI"):
        env.pop(key, None)
    braid = subprocess.Popen(
        [BRAID, "run", str(contract), "--max-trials", "1", "--epochs", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    session = braid.pid  # a new session: everything braid starts carries its id
    try:
        deadline, server = time.monotonic() + 120, None
        while server is None and time.monotonic() < deadline and braid.poll() is None:
            server = next(
                (
                    pid
                    for pid, (parent, _, _, command) in _processes().items()
                    if parent == braid.pid and SERVER in command
                ),
                None,
            )
            time.sleep(0.2)
        assert server is not None, "braid run never started its Prefect API server"
        time.sleep(2)  # into the flow: the server is serving it
        os.kill(braid.pid, signal.SIGKILL)
        braid.wait(timeout=10)
        deadline, left = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            left = {
                pid: command
                for pid, (_, sid, state, command) in _processes().items()
                if sid == session and state != "Z"
            }
            if not left:
                break
            time.sleep(0.5)
        assert not left, f"processes left after kill -9 of braid run: {left}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(session, signal.SIGKILL)
