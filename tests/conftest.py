"""Test-wide settings: offline, telemetry off, every store under a temporary directory."""

import os
from pathlib import Path

_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PREFECT_HOME": str(Path(__file__).resolve().parents[1] / ".braid" / "prefect-tests"),
    "CUDA_VISIBLE_DEVICES": "",
}
for _key, _value in _ENV.items():
    os.environ.setdefault(_key, _value)
