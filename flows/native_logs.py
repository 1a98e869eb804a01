"""Drop TensorFlow's native start-up chatter from the CLI's stderr; pass everything else through.

TensorFlow's C++ side prints lines such as "oneDNN custom operations are on", "Could not find cuda
drivers on your machine" and "failed call to cuInit" before its logging is set up, so
`TF_CPP_MIN_LOG_LEVEL` cannot silence them. The `braid` command routes file descriptor 2 through a
pipe and a thread that drops the absl-formatted info/warning lines (`I0000 00:00:...`, `W0000 ...`)
and the CUDA/oneDNN error lines of a machine without a GPU; every other byte reaches the terminal.
`BRAID_NATIVE_LOGS=1` turns the filter off.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "
    rb"|E\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] .*(cuInit|CUDA|cuda|oneDNN|DT_INT64))"
)


def keep(line: bytes) -> bool:
    """Whether a stderr line is worth showing."""
    return NOISE.match(line) is None


def quiet_native_logs() -> None:
    """Filter this process's (and its children's) stderr through `keep` until exit."""
    if os.environ.get("BRAID_NATIVE_LOGS") == "1" or getattr(quiet_native_logs, "installed", False):
        return
    quiet_native_logs.installed = True
    read, write = os.pipe()
    terminal = os.dup(2)
    sys.stderr.flush()
    os.dup2(write, 2)
    os.close(write)

    def pump() -> None:
        pending = b""
        with os.fdopen(read, "rb", buffering=0) as source:
            while chunk := source.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                shown = b"".join(line + b"\n" for line in lines if keep(line))
                if shown:
                    os.write(terminal, shown)
        if pending and keep(pending):
            os.write(terminal, pending)

    thread = threading.Thread(target=pump, name="braid-stderr", daemon=True)
    thread.start()

    def restore() -> None:
        sys.stderr.flush()
        os.dup2(terminal, 2)  # closes the pipe's write end: the pump drains and stops
        thread.join(timeout=2)

    atexit.register(restore)
