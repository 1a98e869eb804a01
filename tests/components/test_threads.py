"""OpenMP's wait policy (components/__init__.py) and `settings.environ_restored`: process-wide variables Braid sets."""

import os
import subprocess
import sys

PRINT_POLICY = "import components, os; print(os.environ['OMP_WAIT_POLICY'])"


def _policy(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | env
    done = subprocess.run([sys.executable, "-c", PRINT_POLICY], env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_openmp_threads_wait_passively_unless_the_user_chose():
    assert _policy() == "PASSIVE"
    assert _policy(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"


def test_environ_restored_puts_back_set_and_unset_variables(monkeypatch):
    from components.settings import environ_restored

    monkeypatch.setenv("BRAID_TEST_KEPT", "before")
    monkeypatch.delenv("BRAID_TEST_UNSET", raising=False)
    with environ_restored(["BRAID_TEST_KEPT", "BRAID_TEST_UNSET"]):
        os.environ["BRAID_TEST_KEPT"] = "during"
        os.environ["BRAID_TEST_UNSET"] = "during"
    assert os.environ["BRAID_TEST_KEPT"] == "before" and "BRAID_TEST_UNSET" not in os.environ
