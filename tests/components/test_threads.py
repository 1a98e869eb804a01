"""OpenMP's wait policy: set by `import components` unless the user set one (components/__init__.py)."""

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
