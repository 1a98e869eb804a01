"""The stack's process groups on psutil: a recorded process is recognised by pid and start time, and
stopping a group also stops the groups its descendants lead (as a Prefect flow run's)."""

import subprocess
import sys
import time

import numpy as np
import psutil

from components.infra import processes

# A leader in its own group that starts a child in a group of its own, prints the child's pid, and sleeps.
_TREE = (
    "import subprocess, sys, time;"
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True);"
    "print(c.pid, flush=True); time.sleep(60)"
)


def _leader():
    proc = subprocess.Popen([sys.executable, "-c", _TREE], stdout=subprocess.PIPE, text=True, start_new_session=True)
    child = int(proc.stdout.readline())
    return proc, child


def test_stopping_a_group_stops_its_descendants_groups_too():
    proc, child = _leader()
    try:
        started = processes.start_time(proc.pid)
        assert started > 0 and processes.is_running(proc.pid, started)
        assert processes.group_alive(child), "the child leads a group of its own"
        assert processes.stop_group(proc.pid, started, grace_s=5.0)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while processes.pid_exists(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not processes.pid_exists(child) and not processes.is_running(proc.pid, started)
        assert not processes.stop_group(proc.pid, started, grace_s=1.0), "nothing left to stop"
    finally:
        for pid in (proc.pid, child):
            processes.signal_group(pid, 9)


def test_a_pid_that_started_at_another_time_is_not_ours_and_is_left_alone():
    proc, child = _leader()
    try:
        started = processes.start_time(proc.pid)
        assert not processes.is_running(proc.pid, started - 100.0)
        # a reused pid: someone else's process holds it, so nothing is signalled
        assert not processes.stop_group(proc.pid, started - 100.0, grace_s=1.0)
        assert processes.is_running(proc.pid, started) and processes.pid_exists(child)
    finally:
        for pid in (proc.pid, child):
            processes.signal_group(pid, 9)
        proc.wait(timeout=10)


def test_a_gone_pid_has_no_start_time():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    assert processes.start_time(proc.pid) == 0.0 and not processes.pid_exists(proc.pid)


def test_the_stack_runs_flows_from_the_checkout():
    from components.infra import stack

    # the worker's working directory and BRAID_PROJECT_DIR: where prefect.yaml is
    assert (stack.PROJECT_ROOT / "prefect.yaml").is_file()


def test_freed_memory_goes_back_to_the_system():
    from components.infra.processes import release_freed_memory

    def resident_mb() -> float:
        return psutil.Process().memory_info().rss / 2**20

    # ~300 MB in 8 KB blocks of the C heap (numpy's malloc), then one more above them: freed, they stay
    # this process's (glibc hands back only the heap's top on its own; measured: 3 MB of 310 without a trim)
    held = [np.ones(1000) for _ in range(40_000)]
    top = np.ones(1000)
    grown = resident_mb()
    del held
    assert release_freed_memory() is True  # Linux with glibc: what the pipeline and CI run on
    assert resident_mb() < grown - 100, "the freed blocks' pages are the system's again"
    assert top.sum() == 1000
