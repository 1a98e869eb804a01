"""A class the training split lacks never crashes a run: `braid run`'s flow on a contract whose split
column puts every row of one class in validation and test finishes, and says so."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from flows.training import training_pipeline

pytestmark = pytest.mark.slow


def test_a_class_only_validation_and_test_hold_is_masked_counted_wrong_and_reported(
    module_store, demo_contract_factory
):
    root, env = module_store
    home = root / "home"
    env.setenv("BRAID_HOME", str(home))
    path = demo_contract_factory(root, rows=120, image_size=8, refit=False)
    raw = yaml.safe_load(path.read_text())
    frame = pd.read_csv(raw["source"]["path"])
    rng = np.random.default_rng(0)
    frame["fold"] = rng.choice(["train", "val", "test"], size=len(frame), p=[0.6, 0.2, 0.2])
    tool = np.flatnonzero(frame["kind"] == "tool")
    frame.loc[tool, "fold"] = "test"
    frame.loc[tool[:2], "fold"] = "val"
    frame.to_csv(raw["source"]["path"], index=False)
    raw["split"] = {"column": "fold"}
    raw["training"] = {**raw.get("training", {}), "refit": False, "max_trials": 1, "epochs": 1}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))

    result = training_pipeline(contract=str(path), home=str(home))

    (line,) = [u for u in result["prepared"]["unseen_classes"] if u.startswith("kind:")]
    assert f"{len(tool) - 2} test row(s) of 'tool'" in line and "2 val row(s) of 'tool'" in line
    assert result["prepared"]["issues"]["kind: class 'tool' not seen in train (encoded -1)"] == len(tool)
    assert "Classes the train split lacks" in result["evaluated"]["table_markdown"]
    assert "counted as wrong in the test metrics" in Path(result["report"]).read_text(encoding="utf-8")
    # Every test row of 'tool' is a wrong answer, so accuracy cannot pass the share of the other rows.
    test = frame[frame["fold"] == "test"]
    assert result["evaluated"]["metrics"]["test/kind/accuracy"] <= 1 - (test["kind"] == "tool").mean() + 1e-9
    assert result["evaluated"]["test_rows"] == len(test)
    # The validation rows of 'tool' add nothing to its head's loss (unmasked, -1 would make it NaN or fail).
    assert np.isfinite(result["trained"]["leaderboard"][0]["val/kind_loss"])
