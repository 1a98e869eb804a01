"""A local development stack without docker: PostgreSQL, an MLflow and a Prefect server backed by it, and
a Prefect worker on the `braid-process` pool, all on 127.0.0.1 and all under `<Braid home>/stack/`.

`up` starts what is missing and records every process (port, pid, log) in `stack/state.json`; `down`
stops each recorded process group (SIGTERM, SIGKILL after a grace period) and PostgreSQL with
`pg_ctl stop -m fast`. Both are idempotent. `local_stack` is the same stack for the length of a block.

PostgreSQL refuses to run as root: as root its server runs as the `postgres` system user, which owns the
data directory; otherwise as the current user. POSIX only (process groups; psutil walks the process tree).

Example:
    >>> with local_stack(Path("/tmp/braid-home"), Ports(postgres=0, mlflow=0, prefect=0)) as stack:
    ...     env = {**os.environ, **stack.client_env()}   # PREFECT_API_URL, MLFLOW_TRACKING_URI
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from components.errors import StackError
from components.infra import processes
from components.ports import free_port
from components.settings import TELEMETRY_OFF, Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the checkout: components/infra/stack.py → ../../
BIN = Path(sys.executable).parent
POOL = "braid-process"  # the pool prefect.yaml's deployments name
WORKER_NAME = "braid-stack-worker"
DB_USER = "braid"
DATABASES = ("mlflow", "prefect")
SERVERS = ("mlflow", "prefect", "worker")  # started in this order, stopped in the reverse one
GRACE_S = 15.0
# A first start migrates both databases; on a busy 2-core machine that takes a minute or more.
STARTUP_TIMEOUT_S = 300.0
SOCKET_PATH_MAX = 107  # sun_path of a unix socket


@dataclass(frozen=True)
class Ports:
    """Ports on 127.0.0.1; 0 picks a free one."""

    postgres: int = 0
    mlflow: int = 5000
    prefect: int = 4200


@dataclass(frozen=True)
class Process:
    """One started process: the leader of its own process group, and when it started (so that a reused
    pid is never signalled)."""

    pid: int
    started: float  # psutil's create_time, rounded to 0.01 s
    log: str


@dataclass(frozen=True)
class Stack:
    """A running stack, as recorded in its state file."""

    folder: Path
    project_dir: Path
    ports: Ports
    processes: dict[str, Process]
    password: str = field(repr=False, default="")

    @property
    def prefect_api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.prefect}/api"

    @property
    def prefect_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.prefect}"

    @property
    def mlflow_uri(self) -> str:
        return f"http://127.0.0.1:{self.ports.mlflow}"

    @property
    def postgres_url(self) -> str:
        """The PostgreSQL server, with user and password: append `/mlflow` or `/prefect`."""
        return f"postgresql://{DB_USER}:{self.password}@127.0.0.1:{self.ports.postgres}"

    def database_url(self, name: str, driver: str = "postgresql") -> str:
        return f"{driver}://{DB_USER}:{self.password}@127.0.0.1:{self.ports.postgres}/{name}"

    @property
    def data_dir(self) -> Path:
        return self.folder / "postgres"

    @property
    def prefect_home(self) -> Path:
        return self.folder / "prefect"

    @property
    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def client_env(self) -> dict[str, str]:
        """What a shell or a subprocess needs to use this stack."""
        return {"PREFECT_API_URL": self.prefect_api_url, "MLFLOW_TRACKING_URI": self.mlflow_uri}

    def exports(self) -> str:
        return " ".join(f"{key}={value}" for key, value in self.client_env().items())


# ---------------------------------------------------------------------------------------- the commands
def up(
    home: Path,
    ports: Ports = Ports(),
    project_dir: Path = PROJECT_ROOT,
    env: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> tuple[Stack, bool]:
    """Start the stack under `home` (a Braid home), or find it already running there.

    Args:
        home: the Braid home; the stack lives in `home/stack`.
        ports: the ports to listen on (127.0.0.1); 0 picks a free port.
        project_dir: the checkout the worker runs flows from (`BRAID_PROJECT_DIR` for prefect.yaml).
        env: the environment the processes start from (default: this process's).
        settings: where `BRAID_PG_BIN` is read (default: the environment).

    Returns:
        The stack, and whether this call started it (False: it was already up).
    """
    folder = home.resolve() / "stack"
    running = read_state(home)
    if running is not None:
        if all(status(running).values()):
            return running, False
        down(home)  # half of an earlier stack: clear it before starting again
    pg_bin = find_postgres(settings or Settings())
    for name in ("mlflow", "prefect"):
        if not (BIN / name).is_file():
            raise StackError(f"`{name}` is not installed beside {sys.executable}: install Braid (`make install`)")
    chosen = _choose_ports(ports)
    for name, port in asdict(chosen).items():
        _check_port_free(name, port)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "logs").mkdir(exist_ok=True)
    stack = Stack(folder, project_dir.resolve(), chosen, {}, _password(folder))
    base = {**(os.environ if env is None else env), **TELEMETRY_OFF}
    for key in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI", "PGPASSWORD"):
        base.pop(key, None)
    try:
        stack = _record(stack, "postgres", _start_postgres(stack, pg_bin, base))
        _create_databases(stack)
        stack = _record(stack, "mlflow", _spawn("mlflow", _mlflow_command(stack), stack, _mlflow_env(stack, base)))
        stack = _record(
            stack,
            "prefect",
            _spawn(
                "prefect",
                [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(chosen.prefect)],
                stack,
                _prefect_server_env(stack, base),
            ),
        )
        _wait_http(stack, "mlflow", f"{stack.mlflow_uri}/health")
        _wait_http(stack, "prefect", f"{stack.prefect_api_url}/health")
        _ensure_pool(stack, base)
        worker = [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process", "--name", WORKER_NAME]
        stack = _record(stack, "worker", _spawn("worker", worker, stack, _worker_env(stack, home, base)))
        _wait_worker(stack)
    except BaseException:
        down(home)
        raise
    return stack, True


def down(home: Path, grace_s: float = GRACE_S) -> list[str] | None:
    """Stop the stack recorded under `home`. Returns what was still running and is now stopped, or None
    when no stack is recorded there."""
    stack = read_state(home)
    if stack is None:
        return None
    stopped = []
    for name in reversed(SERVERS):
        if name in stack.processes and _stop_group(stack.processes[name], grace_s):
            stopped.append(name)
    if "postgres" in stack.processes and _stop_postgres(stack, grace_s):
        stopped.append("postgres")
    _state_path(home).unlink(missing_ok=True)
    return stopped


def status(stack: Stack) -> dict[str, bool]:
    """Whether each recorded process is running (and, for the servers, answers on its port)."""
    alive = {name: _is_running(process) for name, process in stack.processes.items()}
    for name, url in (("mlflow", f"{stack.mlflow_uri}/health"), ("prefect", f"{stack.prefect_api_url}/health")):
        if alive.get(name):
            alive[name] = _answers(url)
    return alive


@contextlib.contextmanager
def local_stack(
    home: Path, ports: Ports = Ports(0, 0, 0), project_dir: Path = PROJECT_ROOT, env: Mapping[str, str] | None = None
) -> Iterator[Stack]:
    """The stack under `home` for the length of the block (free ports by default), stopped after it."""
    stack, _ = up(home, ports, project_dir, env)
    try:
        yield stack
    finally:
        down(home)


def read_state(home: Path) -> Stack | None:
    """The stack recorded under `home`, or None."""
    path = _state_path(home)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
        folder = Path(raw["folder"])
        password = (
            (folder / "postgres.password").read_text().strip() if (folder / "postgres.password").is_file() else ""
        )
        return Stack(
            folder,
            Path(raw["project_dir"]),
            Ports(**raw["ports"]),
            {name: Process(**p) for name, p in raw["processes"].items()},
            password,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StackError(
            f"cannot read the stack's state file {path} ({exc}): stop its processes by hand and delete it"
        ) from None


def find_postgres(settings: Settings) -> Path:
    """The folder of PostgreSQL's `initdb` and `pg_ctl`: BRAID_PG_BIN, else PATH, else Debian's."""
    if settings.braid_pg_bin is not None:
        candidates = [settings.braid_pg_bin]
    else:
        on_path = shutil.which("pg_ctl")
        candidates = ([Path(on_path).resolve().parent] if on_path else []) + sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True
        )
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    where = f"in BRAID_PG_BIN={settings.braid_pg_bin}" if settings.braid_pg_bin else "on PATH or in /usr/lib/postgresql"
    raise StackError(
        f"PostgreSQL's server binaries (initdb, pg_ctl) are not {where}: "
        "apt-get install postgresql (or set BRAID_PG_BIN to their folder)"
    )


# ---------------------------------------------------------------------------------------- PostgreSQL
def _start_postgres(stack: Stack, pg_bin: Path, env: dict[str, str]) -> Process:
    data = stack.data_dir
    socket_path = data / f".s.PGSQL.{stack.ports.postgres}"
    if len(str(socket_path)) > SOCKET_PATH_MAX:
        raise StackError(
            f"the PostgreSQL socket path {socket_path} is longer than {SOCKET_PATH_MAX} characters: "
            "use a shorter BRAID_HOME"
        )
    owner = _postgres_user()
    if owner is not None:
        _check_reachable(data.parent, owner)
    log = stack.folder / "logs" / "postgres.log"
    log.touch()
    if owner is not None:
        os.chown(log, owner.pw_uid, owner.pw_gid)
    if not (data / "PG_VERSION").is_file():
        _initdb(stack, pg_bin, owner, env)
    # pg_ctl hands these to a shell: quote the path.
    options = (
        f"-c listen_addresses=127.0.0.1 -p {stack.ports.postgres} -c unix_socket_directories={shlex.quote(str(data))}"
    )
    done = _as_postgres(
        owner,
        [
            str(pg_bin / "pg_ctl"),
            "start",
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            str(int(STARTUP_TIMEOUT_S)),
            "-o",
            options,
        ],
        env,
        cwd=data,
    )
    if done.returncode:
        raise StackError(f"PostgreSQL did not start ({_last_line(done.stdout)}); see {log}")
    pid = int((data / "postmaster.pid").read_text().split()[0])
    return Process(pid, processes.start_time(pid), str(log))


def _initdb(stack: Stack, pg_bin: Path, owner: pwd.struct_passwd | None, env: dict[str, str]) -> None:
    data = stack.data_dir
    data.mkdir(mode=0o700, exist_ok=True)
    pwfile = stack.folder / ".initdb-password"
    pwfile.write_text(stack.password + "\n")
    pwfile.chmod(0o600)
    if owner is not None:
        os.chown(data, owner.pw_uid, owner.pw_gid)
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    try:
        # Socket connections are trusted: the socket lies in the data directory, which only its owner
        # can enter. TCP on 127.0.0.1 asks for the password. --no-sync: a crash during initdb only means
        # deleting the fresh directory, and skipping the fsyncs saves seconds on every new stack.
        done = _as_postgres(
            owner,
            [
                str(pg_bin / "initdb"),
                "-D",
                str(data),
                f"--username={DB_USER}",
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
                "--no-sync",
            ],
            env,
            cwd=data,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if done.returncode:
        (stack.folder / "logs" / "initdb.log").write_text(done.stdout)
        raise StackError(f"initdb failed ({_last_line(done.stdout)}); see {stack.folder / 'logs' / 'initdb.log'}")


def _create_databases(stack: Stack) -> None:
    try:
        import psycopg2
    except ImportError:
        raise StackError("psycopg2 is not installed: pip install 'braid[stack]'") from None
    connection = psycopg2.connect(stack.database_url("postgres"), connect_timeout=10)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            for name in DATABASES:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def _stop_postgres(stack: Stack, grace_s: float) -> bool:
    process = stack.processes["postgres"]
    if not _is_running(process):
        return False
    owner = _postgres_user()
    pg_ctl = next((folder / "pg_ctl" for folder in _pg_bins() if (folder / "pg_ctl").is_file()), None)
    if pg_ctl is not None:
        _as_postgres(
            owner,
            [str(pg_ctl), "stop", "-D", str(stack.data_dir), "-m", "fast", "-w", "-t", str(int(grace_s))],
            {**os.environ},
            cwd=stack.data_dir,
        )
    if _is_running(process):  # no pg_ctl, or it timed out: SIGINT is PostgreSQL's fast shutdown too
        processes.signal_group(process.pid, signal.SIGINT)
        if not _wait_gone(process, grace_s):
            processes.signal_group(process.pid, signal.SIGQUIT)  # immediate shutdown; recovery runs on next start
            _wait_gone(process, grace_s)
    return True


def _pg_bins() -> list[Path]:
    with contextlib.suppress(StackError):
        return [find_postgres(Settings())]
    return []


def _as_postgres(
    owner: pwd.struct_passwd | None, command: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess:
    """Run a PostgreSQL tool as the data directory's owner (the `postgres` user when we are root)."""
    user = {} if owner is None else {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    env = (
        {**env, "LC_ALL": "C"}
        if owner is None
        else {**env, "LC_ALL": "C", "HOME": owner.pw_dir, "USER": owner.pw_name, "LOGNAME": owner.pw_name}
    )
    # A new session: postgres must not get the terminal's Ctrl-C.
    return subprocess.run(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        check=False,
        timeout=STARTUP_TIMEOUT_S,
        **user,
    )


def _postgres_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise StackError(
            "PostgreSQL refuses to run as root and there is no `postgres` user: "
            "apt-get install postgresql (it creates one), or run braid as another user"
        ) from None


def _check_reachable(folder: Path, owner: pwd.struct_passwd) -> None:
    """The `postgres` user must be able to walk down to the data directory."""
    groups = {owner.pw_gid} | {g for g in os.getgrouplist(owner.pw_name, owner.pw_gid)}
    for path in [folder, *folder.parents]:
        info = path.stat()
        bit = 0o100 if info.st_uid == owner.pw_uid else 0o010 if info.st_gid in groups else 0o001
        if not info.st_mode & bit:
            raise StackError(
                f"the postgres user cannot enter {path} (mode {info.st_mode & 0o777:o}), so it "
                f"cannot reach its data directory: `chmod o+x {path}` or use another BRAID_HOME"
            )


def _password(folder: Path) -> str:
    path = folder / "postgres.password"
    if not path.is_file():
        path.write_text(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


# ---------------------------------------------------------------------------------------- the servers
def _mlflow_command(stack: Stack) -> list[str]:
    # The password reaches the server as PGPASSWORD, not on its command line (which `ps` shows). The
    # driver is named: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which Braid does not install.
    store = f"postgresql+psycopg2://{DB_USER}@127.0.0.1:{stack.ports.postgres}/mlflow"
    return [
        str(BIN / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(stack.ports.mlflow),
        "--backend-store-uri",
        store,
        "--serve-artifacts",
        "--artifacts-destination",
        str(stack.folder / "mlflow-artifacts"),
        "--workers",
        "1",
    ]


def _mlflow_env(stack: Stack, base: dict[str, str]) -> dict[str, str]:
    return {**base, "PGPASSWORD": stack.password, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def _prefect_server_env(stack: Stack, base: dict[str, str]) -> dict[str, str]:
    url = stack.database_url("prefect", "postgresql+asyncpg")
    return {
        **base,
        "PREFECT_HOME": str(stack.prefect_home),
        "PREFECT_API_DATABASE_CONNECTION_URL": url,
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": url,
        "PREFECT_UI_API_URL": stack.prefect_api_url,
    }


def _worker_env(stack: Stack, home: Path, base: dict[str, str]) -> dict[str, str]:
    # Flow runs inherit this: they run this checkout's code, track to this MLflow, keep data in this home.
    # INFO on the console: the worker's log says which flow runs it took and what they did.
    path = os.pathsep.join(p for p in (str(stack.project_dir), base.get("PYTHONPATH", "")) if p)
    return {
        **base,
        **stack.client_env(),
        "PREFECT_HOME": str(stack.prefect_home),
        "BRAID_PROJECT_DIR": str(stack.project_dir),
        "BRAID_HOME": str(home.resolve()),
        "PYTHONPATH": path,
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO",
    }


def _ensure_pool(stack: Stack, base: dict[str, str]) -> None:
    if httpx.get(f"{stack.prefect_api_url}/work_pools/{POOL}", timeout=30).status_code == 200:
        return
    done = subprocess.run(
        [str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"],
        env={**base, "PREFECT_API_URL": stack.prefect_api_url, "PREFECT_HOME": str(stack.prefect_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=STARTUP_TIMEOUT_S,
        check=False,
    )
    if done.returncode:
        raise StackError(f"cannot create the work pool {POOL}: {_last_line(done.stdout)}")


def _spawn(name: str, command: list[str], stack: Stack, env: dict[str, str]) -> Process:
    log = stack.folder / "logs" / f"{name}.log"
    with log.open("w") as out:
        # Its own session and process group: `down` stops the server with all its workers, and the
        # terminal's Ctrl-C after `braid stack up` does not reach it.
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=stack.project_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Process(proc.pid, processes.start_time(proc.pid), str(log))


def _record(stack: Stack, name: str, process: Process) -> Stack:
    """Write the state file with one more process, so that `down` finds it even if `up` fails later."""
    stack = Stack(stack.folder, stack.project_dir, stack.ports, {**stack.processes, name: process}, stack.password)
    path = stack.folder / "state.json"
    raw = {
        "folder": str(stack.folder),
        "project_dir": str(stack.project_dir),
        "ports": asdict(stack.ports),
        "processes": {n: asdict(p) for n, p in stack.processes.items()},
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(raw, indent=2))
    tmp.replace(path)
    return stack


def _wait_http(stack: Stack, name: str, url: str) -> None:
    process = stack.processes[name]
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _is_running(process):
            raise StackError(f"the {name} server exited while starting; see {process.log}")
        if _answers(url):
            return
        time.sleep(0.5)
    raise StackError(f"the {name} server did not answer {url} within {STARTUP_TIMEOUT_S:.0f} s; see {process.log}")


def _wait_worker(stack: Stack) -> None:
    """Until the worker has told the API it polls the pool."""
    process = stack.processes["worker"]
    url = f"{stack.prefect_api_url}/work_pools/{POOL}/workers/filter"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _is_running(process):
            raise StackError(f"the Prefect worker exited while starting; see {process.log}")
        with contextlib.suppress(httpx.HTTPError, ValueError):
            workers = httpx.post(url, json={}, timeout=10).json()
            if any(w.get("name") == WORKER_NAME for w in workers):
                return
        time.sleep(0.5)
    raise StackError(f"the Prefect worker did not reach the API within {STARTUP_TIMEOUT_S:.0f} s; see {process.log}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


# ---------------------------------------------------------------------------------------- processes
def _stop_group(process: Process, grace_s: float) -> bool:
    return processes.stop_group(process.pid, process.started, grace_s)


def _wait_gone(process: Process, timeout: float) -> bool:
    return processes.wait_gone(process.pid, process.started, timeout)


def _is_running(process: Process) -> bool:
    return processes.is_running(process.pid, process.started)


# ---------------------------------------------------------------------------------------- small helpers
def _state_path(home: Path) -> Path:
    return home.resolve() / "stack" / "state.json"


def _choose_ports(ports: Ports) -> Ports:
    """`ports` with each 0 replaced by a free port, no two alike (the kernel may hand one out twice)."""
    given = [port for port in asdict(ports).values() if port]
    if len(set(given)) < len(given):
        raise StackError(f"two services cannot share a port: {ports}")
    taken = set(given)
    chosen = []
    for port in asdict(ports).values():
        while not port:
            port = free_port()
            port = 0 if port in taken else port
        taken.add(port)
        chosen.append(port)
    return Ports(*chosen)


def _check_port_free(name: str, port: int) -> None:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise StackError(
                f"port {port} on 127.0.0.1 is taken, so {name} cannot listen there: stop what uses "
                f"it or choose another with --{name}-port (0 for any free port)"
            ) from None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
