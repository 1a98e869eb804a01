"""Where Braid keeps things on disk: the one place paths are built."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from components.errors import StorageError
from components.settings import Settings

MIN_FREE_BYTES = 200 * 2**20


@dataclass(frozen=True)
class Layout:
    """Paths under one Braid home directory (default `./.braid`, or `$BRAID_HOME`).

    Example:
        >>> layout = Layout.default()
        >>> layout.preprocessed("demo", "ab12")  # .braid/data/demo/ab12
    """

    home: Path
    settings: Settings = field(default_factory=Settings, compare=False, repr=False)

    @classmethod
    def default(cls, settings: Settings | None = None) -> "Layout":
        """The layout under `BRAID_HOME` (or `./.braid`), with the settings it was read with."""
        settings = settings or Settings()
        return cls(settings.braid_home.resolve(), settings)

    @property
    def mlflow_db(self) -> Path:
        return self.home / "mlflow.db"

    @property
    def mlflow_uri(self) -> str:
        return f"sqlite:///{self.mlflow_db}"

    @property
    def artifacts(self) -> Path:
        return self.home / "artifacts"

    @property
    def demo_data(self) -> Path:
        return self.home / "demo"

    @property
    def multimodal_demo_data(self) -> Path:
        return self.home / "demo_multimodal"

    def validation(self, contract: str, data_hash: str) -> Path:
        return self.home / "validation" / contract / data_hash

    def preprocessed(self, contract: str, data_hash: str) -> Path:
        return self.home / "data" / contract / data_hash

    def search(self, contract: str, run_name: str) -> Path:
        return self.home / "runs" / contract / run_name

    def scores(self, contract: str) -> Path:
        return self.home / "scores" / contract


def check_writable(folder: Path) -> None:
    """Fail early, before hours of work, when `folder` can't take files or the disk is nearly full."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"0" * 1024)
        probe.unlink()
    except OSError as exc:
        raise StorageError(
            f"cannot write to {folder}: {exc.strerror or exc}. "
            "Free disk space or point BRAID_HOME at a writable directory"
        ) from None
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise StorageError(
            f"only {free // 2**20} MiB free under {folder}; Braid needs at least "
            f"{MIN_FREE_BYTES // 2**20} MiB. Free disk space or point BRAID_HOME elsewhere"
        )
