"""A temporary Prefect API for one CLI command, that dies with the command even when it is SIGKILLed.

Without `PREFECT_API_URL`, Prefect starts a temporary API server in a subprocess and stops it at exit;
after `kill -9` of the CLI no exit code runs and the server lives on (an orphan of ~200 MB per kill).
`braid run` / `braid score` start that same server themselves (Prefect's own app factory, as Prefect
runs it), asking Linux to SIGTERM it when its parent dies (`PR_SET_PDEATHSIG`), and point Prefect at it.
With `PREFECT_API_URL` set (a real server) nothing is started.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from components.errors import BraidError
from components.ports import free_port

PR_SET_PDEATHSIG = 1
STARTUP_TIMEOUT_S = 60.0
PORT_IN_USE, PORT_ATTEMPTS = 3, 3  # uvicorn exits 3 when another process took the port first


# Run in the server process before uvicorn: SIGTERM when the parent dies; exit at once if it already has.
_CHILD = (
    "import ctypes, os, runpy, signal, sys; "
    f"ctypes.CDLL('libc.so.6').prctl({PR_SET_PDEATHSIG}, signal.SIGTERM); "
    "os.getppid() == int(os.environ['BRAID_API_PARENT']) or sys.exit(1); "
    "sys.argv = ['uvicorn', *sys.argv[1:]]; runpy.run_module('uvicorn', run_name='__main__')"
)


@contextlib.contextmanager
def local_api() -> Iterator[str | None]:
    """Within the block Prefect talks to a server that this process owns; yields its API URL (None when
    `PREFECT_API_URL` already names a server, or off Linux, where Prefect's own temporary server is used)."""
    if os.environ.get("PREFECT_API_URL") or not sys.platform.startswith("linux"):
        yield None
        return
    import prefect
    from prefect.settings import PREFECT_API_URL, temporary_settings

    env = {
        **os.environ,
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
        "BRAID_API_PARENT": str(os.getpid()),
    }
    with _startup_lock():
        # One server at a time migrates the Prefect database under PREFECT_HOME: concurrent first starts
        # race through its migrations ("duplicate column name").
        for attempt in range(PORT_ATTEMPTS):
            port = free_port()
            command = [
                sys.executable,
                "-c",
                _CHILD,
                "--app-dir",
                str(prefect.__module_path__.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ]
            url = f"http://127.0.0.1:{port}/api"
            server = subprocess.Popen(command, env=env)
            try:
                _wait_healthy(server, url)
                break
            except BraidError:
                server.kill()
                server.wait()
                if server.returncode != PORT_IN_USE or attempt == PORT_ATTEMPTS - 1:
                    raise
            except BaseException:
                server.kill()
                raise
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                _drain()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _drain() -> None:
    """Send the logs and events Prefect still queues to the server before it stops (else, at exit,
    Prefect reports "Error logging to API" to a server that is gone)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=10)


@contextlib.contextmanager
def _startup_lock() -> Iterator[None]:
    import fcntl
    from pathlib import Path

    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "braid-api-start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _wait_healthy(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise BraidError(
                    f"the local Prefect API exited with code {server.returncode} while starting; "
                    "run `prefect server start` yourself and set PREFECT_API_URL"
                )
            try:
                if client.get(f"{url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise BraidError(
        f"the local Prefect API at {url} did not answer within {STARTUP_TIMEOUT_S:.0f} s; "
        "run `prefect server start` yourself and set PREFECT_API_URL"
    )
