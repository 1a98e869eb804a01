"""What `braid run` prints to a log (no terminal): one line per stage and per trial, the leaderboard named
after its objective, Markdown drawn; no Keras epoch lines, no warnings Braid can prevent, no download bars.
And `braid validate`: its report drawn once, no raw Markdown."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BRAID = str(Path(sys.executable).with_name("braid"))

pytestmark = pytest.mark.slow


@pytest.mark.e2e  # two whole `braid run`s (the fixture tests/flows/test_reproducibility.py shares)
def test_braid_run_prints_one_line_per_stage_and_per_trial(braid_runs):
    done = braid_runs[0]
    output = done.stdout + done.stderr
    for noise in ("Epoch 1/", "ran out of data", "Downloading artifacts", "empty image cell", "Traceback"):
        assert noise not in output, f"{noise!r} in:\n{output}"
    # Markdown is drawn, not printed: no headings' hashes, bold stars or table pipes.
    assert not re.search(r"^#+ |\*\*|^\|", output, re.MULTILINE), output
    lines = done.stdout.splitlines()
    trials = [line for line in lines if re.search(r"\] search +trial \d/2 (completed|failed)", line)]
    assert len(trials) == 2 and "trial 1/2" in trials[0] and "trial 2/2" in trials[1], output
    assert all(re.search(r": val_combined_loss \d+\.\d{4} \(\d+\.\d s\)$", t) for t in trials), trials
    for stage in ("validate", "preprocess", "evaluate", "register"):
        assert sum(bool(re.search(rf"\] {stage} ", line)) for line in lines) == 1, (stage, output)
    assert any("val_combined_loss" in line and "┃" in line for line in lines), output  # the leaderboard's column


def test_braid_validate_draws_its_report_once(tmp_path, demo_contract_factory):
    contract = demo_contract_factory(tmp_path, rows=120, image_size=8)
    env = {**os.environ, "BRAID_HOME": str(tmp_path / "home")}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run([BRAID, "validate", str(contract)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    flat = " ".join(done.stdout.split())  # rich wraps lines at the console's width
    assert "Validation passed" in flat and "120 read, 120 usable" in flat, done.stdout
    assert "#" not in flat and "`" not in flat, done.stdout
    assert flat.count("Data Docs") == 1, done.stdout
