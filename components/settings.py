"""Braid's settings from the environment, read in one place (pydantic-settings).

`BRAID_HOME` (default `./.braid`), the tracking server (`MLFLOW_TRACKING_URI`), how long an unreachable
tracking store is waited for (`BRAID_TRACKING_RETRIES`, `BRAID_TRACKING_MAX_WAIT_S`) and the Prefect
server (`PREFECT_API_URL`, `PREFECT_HOME`). Unset server variables mean the embedded defaults: MLflow
on SQLite and Prefect's ephemeral API under the Braid home. `BRAID_CPU_LOGICAL_DEVICES=N` splits the CPU
into N TensorFlow devices (`components.devices`: the multi-device path tested without GPUs).

Example:
    >>> settings = Settings()          # reads the environment once
    >>> settings.braid_home, settings.mlflow_tracking_uri
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Telemetry off for every process Braid starts or runs in (servers, workers, subprocesses, tests); the
# Makefile exports the same for the shell.
TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
}


class Settings(BaseSettings):
    """Every environment variable Braid reads (names are the upper-case field names)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    braid_home: Path = Path(".braid")
    mlflow_tracking_uri: str | None = None
    braid_tracking_retries: int = Field(8, ge=1)
    braid_tracking_max_wait_s: float = Field(60.0, ge=0)
    prefect_api_url: str | None = None
    prefect_home: Path | None = None
    # Where a served model looks up path-based image cells (`braid serve --image-root`); unset: the
    # training contract's image root. A request's `params: {"image_root": ...}` overrides both.
    braid_image_root: Path | None = None
    # The largest request body `braid serve` reads (MB); a larger one is refused with HTTP 413.
    braid_serve_max_body_mb: float = Field(16.0, gt=0)
    # Whether a served model fetches image cells given as URLs (`braid serve --allow-urls`); off by default:
    # a client could otherwise make the server request any address the server can reach.
    braid_serve_allow_urls: bool = False
    # Media behind URLs (`components.data.media`): per-request timeout, retries, requests in flight at most.
    braid_media_timeout_s: float = Field(10.0, gt=0)
    braid_media_retries: int = Field(2, ge=0)
    braid_media_concurrency: int = Field(8, ge=1)
    # The S3 endpoint for `s3://` cells (a local S3-compatible server); unset: AWS's.
    braid_s3_endpoint_url: str | None = None
    # The folder of PostgreSQL's server binaries (`initdb`, `pg_ctl`) for `braid stack`; unset: PATH, then
    # Debian's /usr/lib/postgresql/<version>/bin.
    braid_pg_bin: Path | None = None
    # Split the CPU into this many logical TensorFlow devices (`components.devices`), so that multi-device
    # code (MirroredStrategy) runs on a machine without GPUs: for tests and development.
    braid_cpu_logical_devices: int | None = Field(None, ge=1, le=64)
    # The scheduler of an existing Dask cluster ("tcp://scheduler:8786") that preprocessing runs its parts
    # on (flows/preprocessing.py); unset: a local cluster when the contract's `preprocess.workers` > 1.
    braid_dask_address: str | None = None


@contextlib.contextmanager
def environ_restored(names: Iterable[str]) -> Iterator[None]:
    """Put the environment variables `names` back as they were when the block ends (one that was unset is
    unset again), whatever the block set them to."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
