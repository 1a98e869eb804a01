"""The real-set harness end to end on its tiny synthetic set (`--smoke`): seconds, no peers, no real data."""

import json

import numpy as np

from benchmarks import real_sets, report, sets


def test_smoke_run_writes_history_table_and_plot(tmp_path):
    paths = real_sets.main(["--smoke", "--out", str(tmp_path)])
    history = json.loads(paths["json"].read_text())
    entry = history[-1]
    assert entry["set"] == "synthetic" and entry["trials"] == 1 and entry["epochs"] == 1
    assert set(entry["systems"]) == {"braid", "classical"}
    for system in entry["systems"].values():
        assert set(system["heads"]) == {"genres", "score", "kind"}
    # the easy synthetic signal: the classical model is far better than the trivial baseline
    classical, trivial = entry["systems"]["classical"]["heads"], entry["trivial"]
    assert classical["genres"]["value"] > trivial["genres"]["value"]
    assert classical["score"]["value"] < trivial["score"]["value"]
    assert 0.05 <= classical["genres"]["threshold"] <= 0.95
    assert entry["systems"]["braid"]["min"]["kind"] <= entry["systems"]["braid"]["max"]["kind"]

    table = paths["md"].read_text()
    assert "| synthetic · genres micro-F1 |" in table and "| synthetic · score MAE |" in table
    assert "not run" in table  # peers are left out of the smoke run and the table says so
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    real_sets.write([entry], tmp_path)
    assert len(json.loads(paths["json"].read_text())) == 2  # history is appended, not overwritten


def test_split_is_the_readme_split():
    train, test = sets.split(10)
    order = np.random.default_rng(0).permutation(10)
    assert sorted(train) == sorted(order[:8]) and sorted(test) == sorted(order[8:])


def test_normalised_scores_put_the_trivial_baseline_at_zero():
    assert report.normalised(0.4, 0.4, higher=True) == 0.0
    assert report.normalised(1.0, 0.4, higher=True) == 1.0
    assert report.normalised(0.0, 0.9, higher=False) == 1.0
    assert report.normalised(0.45, 0.9, higher=False) == 0.5
