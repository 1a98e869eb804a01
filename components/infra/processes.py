"""The stack's process groups, on psutil: whether a recorded process is still the one started, and
stopping a group with every group its descendants lead (a Prefect flow run has its own).

A process is recorded as (pid, create time): a pid the kernel has handed to someone else since is
not ours. A zombie counts as gone; one this process started is reaped on the way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil


def start_time(pid: int) -> float:
    """When `pid` started (seconds since the epoch, psutil's `create_time`), 0 when it is gone."""
    with contextlib.suppress(psutil.Error):
        return round(psutil.Process(pid).create_time(), 2)
    return 0.0


def is_running(pid: int, started: float) -> bool:
    """Whether `pid` is alive, not a zombie, and the process that started at `started`."""
    _reap(pid)
    return _alive(pid) and start_time(pid) == started


def pid_exists(pid: int) -> bool:
    """Whether any live (non-zombie) process holds `pid`."""
    _reap(pid)
    return _alive(pid)


def stop_group(pid: int, started: float, grace_s: float) -> bool:
    """SIGTERM the group `pid` leads and the groups of its descendants, then SIGKILL what is left after
    `grace_s`. Returns whether anything was running."""
    if is_running(pid, started):
        groups = {pid} | {_pgid(child) for child in _descendants(pid)}
    elif pid_exists(pid):
        return False  # the pid is someone else's now: our group is gone (its pgid would still hold it)
    else:
        groups = {pid}  # the leader died; members of its group may live on
    groups = {g for g in groups if g and group_alive(g)}
    if not groups:
        return False
    for group in groups:
        signal_group(group, signal.SIGTERM)
    _wait(lambda: not any(group_alive(g) for g in groups), grace_s)
    for group in groups:
        if group_alive(group):
            signal_group(group, signal.SIGKILL)
    _wait(lambda: not any(group_alive(g) for g in groups), 10.0)
    return True


def wait_gone(pid: int, started: float, timeout: float) -> bool:
    """Waits up to `timeout` seconds for the process to end; whether it did."""
    return _wait(lambda: not is_running(pid, started), timeout)


def group_alive(pgid: int) -> bool:
    """Whether any live process is in group `pgid`."""
    _reap(pgid)
    for process in psutil.process_iter(["status"]):
        if process.info["status"] != psutil.STATUS_ZOMBIE and _pgid(process.pid) == pgid:
            return True
    return False


def _wait(done, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.2)
    return done()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _descendants(pid: int) -> list[int]:
    with contextlib.suppress(psutil.Error):
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    return []


def _pgid(pid: int) -> int:
    with contextlib.suppress(OSError):
        return os.getpgid(pid)
    return 0


def signal_group(pgid: int, signum: int) -> None:
    """Sends `signum` to group `pgid`; a group that is gone, or not ours to signal, is left alone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _reap(pid: int) -> None:
    # A process this one started (`local_stack` in a test) stays a zombie until it is waited for.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def release_freed_memory() -> bool:
    """Collect Python's garbage, then hand the C heap's free pages back to the system (glibc's
    `malloc_trim`): memory a finished step freed (a search's tf.data caches) otherwise stays in this
    process's resident size and adds to the next step's peak. True when the heap was trimmed (glibc only)."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    if not name or os.uname().sysname != "Linux":
        return False
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return False
    trim(0)
    return True
