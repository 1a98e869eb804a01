"""Where Braid keeps things on disk: the one place paths are built."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    """Paths under one Braid home directory (default `./.braid`, or `$BRAID_HOME`).

    Example:
        >>> layout = Layout.default()
        >>> layout.preprocessed("demo", "ab12")  # .braid/data/demo/ab12
    """

    home: Path

    @classmethod
    def default(cls) -> "Layout":
        return cls(Path(os.environ.get("BRAID_HOME", ".braid")).resolve())

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

    def validation(self, contract: str, data_hash: str) -> Path:
        return self.home / "validation" / contract / data_hash

    def preprocessed(self, contract: str, data_hash: str) -> Path:
        return self.home / "data" / contract / data_hash

    def search(self, contract: str, run_name: str) -> Path:
        return self.home / "runs" / contract / run_name

    def scores(self, contract: str) -> Path:
        return self.home / "scores" / contract
