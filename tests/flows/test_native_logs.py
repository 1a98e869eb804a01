"""The `braid` command's stderr keeps what matters and drops TensorFlow's native start-up chatter."""

import os
import subprocess
import sys
from pathlib import Path

from flows.native_logs import keep

BRAID = str(Path(sys.executable).with_name("braid"))


def test_absl_info_and_gpu_probe_lines_are_dropped_and_real_errors_kept():
    assert not keep(b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR")
    assert not keep(b"I0000 00:00:1796296423.681073   29774 port.cc:153] oneDNN custom operations are on.")
    assert not keep(b"E0000 00:00:1796295571.076185   19390 cuda_platform.cc:52] failed call to cuInit: INTERNAL")
    assert keep(b"E0000 00:00:1796295571.076185   19390 bfc_allocator.cc:1] Out of memory while allocating")
    assert keep(b"error: demo.yaml: contract file not found")


def test_tensorflow_start_up_lines_never_reach_the_terminal_but_other_output_does():
    code = (
        "import sys; from flows.native_logs import quiet_native_logs; quiet_native_logs(); "
        "import tensorflow as tf; tf.constant(1) + 1; sys.stderr.write('braid says: kept\\n'); "
        "print('on stdout')"
    )
    env = {k: v for k, v in os.environ.items() if k != "BRAID_NATIVE_LOGS"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "braid says: kept" in done.stderr and "on stdout" in done.stdout
    assert "absl::InitializeLog" not in done.stderr and "I0000" not in done.stderr and "cuInit" not in done.stderr


def test_the_braid_command_installs_the_filter(tmp_path):
    done = subprocess.run(
        [BRAID, "validate", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BRAID_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 2 and "contract file not found" in done.stdout + done.stderr
