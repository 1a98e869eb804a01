"""`served(contract, home, log)`: a real `braid serve` of a contract's champion on a free 127.0.0.1 port, for
tests that POST raw rows to it; started in its own process group and stopped by its pid."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from components.ports import free_port


@contextlib.contextmanager
def served(contract: Path, home: Path, log_path: Path, alias: str = "champion") -> Iterator[int]:
    """Serve `alias` of `contract`'s model from the Braid home `home`; yield the port once `/ping` answers."""
    port = free_port()
    env = {**os.environ, "BRAID_HOME": str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("braid")), "serve", str(contract), "--port", str(port)]
            + ["--alias", alias],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the server's workers stop with it
        )
        try:
            deadline = time.monotonic() + 240
            while not _answers(port):
                assert server.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, f"no answer on port {port}: {log_path.read_text()[-3000:]}"
                time.sleep(1)
            yield port
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
