"""The benchmark suite end to end at its smoke budget: the synthetic set and scikit-learn's bundled breast_cancer."""

import json

import numpy as np
import pytest

from benchmarks import sets, suite, systems


@pytest.mark.e2e  # every benchmark system trained on every quick set: minutes
def test_quick_suite_scores_every_system_normalises_and_ranks(tmp_path):
    paths = suite.main(["--quick", "--sets", "synthetic", "breast_cancer", "synthetic_series", "--out", str(tmp_path)])
    document = json.loads(paths["json"].read_text())
    assert set(document["sets"]) == {"synthetic", "breast_cancer", "synthetic_series"}
    for entry in document["sets"].values():
        assert entry["trials"] == 1 and entry["epochs"] == 1 and entry["seeds"] == [0]
        assert set(entry["systems"]) == set(suite.SYSTEMS)
        heads = [h["name"] for h in entry["heads"]]
        for name in ("braid", "classical", "trivial"):
            assert set(entry["systems"][name]["heads"]) == set(heads)
        for head in heads:
            scores = entry["normalised"][head]
            assert scores["trivial"] == 0.0
            assert all(np.isfinite(v) and v <= 1.0 for v in scores.values())
        # a peer runs where its virtualenv is built; else it (and a peer with no series model) is recorded,
        # not crashed
        for peer in ("autokeras", "autogluon"):
            result = entry["systems"][peer]
            assert "heads" in result or result["error"].startswith(("not built", "not applicable")), result

    synthetic = document["sets"]["synthetic"]
    # image + text: the probe runs on the frozen encoders; the table-only set has none to probe
    assert set(synthetic["systems"]["linear_probe"]["heads"]) == {"genres", "score", "kind"}
    assert "not applicable" in document["sets"]["breast_cancer"]["systems"]["linear_probe"]["error"]
    # an easy signal: the classical model beats the trivial baseline on every synthetic head
    assert all(synthetic["normalised"][h]["classical"] > 0.3 for h in ("genres", "score", "kind"))

    ranks = document["ranks"]
    assert {"braid", "classical", "linear_probe", "trivial"} <= set(ranks)
    # 3 synthetic heads + diagnosis + half_cycles
    assert ranks["braid"]["heads"] == ranks["classical"]["heads"] == 5
    assert ranks["linear_probe"]["heads"] == 3
    assert all(1.0 <= r["mean_rank"] <= len(ranks) for r in ranks.values())  # 4 systems, 5 where AutoGluon is built
    series = document["sets"]["synthetic_series"]
    assert "no model for a series column" in series["systems"]["autogluon"]["error"]
    assert series["normalised"]["half_cycles"]["classical"] > 0.3 and series["normalised"]["half_cycles"]["braid"] > 0.0
    assert ranks["trivial"]["mean_normalised"] == 0.0

    table = paths["md"].read_text()
    assert "## breast_cancer" in table and "| diagnosis (accuracy) |" in table and "not applicable" in table
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    suite.write([document["sets"]["synthetic"]], tmp_path)  # a rerun of one set replaces only that set
    assert set(json.loads(paths["json"].read_text())["sets"]) == {"synthetic", "breast_cancer", "synthetic_series"}

    # --only reruns a peer beside a set's stored results: Braid's seeds are kept, not rerun
    before = json.loads(paths["json"].read_text())["sets"]["synthetic_series"]
    suite.main(["--only", "autogluon", "--sets", "synthetic_series", "--out", str(tmp_path)])
    after = json.loads(paths["json"].read_text())["sets"]["synthetic_series"]
    assert after["systems"]["braid"] == before["systems"]["braid"] and after["date"] == before["date"]
    assert (
        "no model for a series column" in after["systems"]["autogluon"]["error"]
        and after["systems"]["autogluon"]["date"]
    )
    with pytest.raises(SystemExit, match="holds no 'digits' yet"):
        suite.main(["--only", "autokeras", "--sets", "digits", "--out", str(tmp_path)])

    # --keep-peers reruns Braid and the baselines and keeps the peers' stored results
    suite.main(["--quick", "--keep-peers", "--sets", "synthetic_series", "--out", str(tmp_path)])
    kept = json.loads(paths["json"].read_text())["sets"]["synthetic_series"]
    assert kept["systems"]["autogluon"] == after["systems"]["autogluon"]
    assert kept["systems"]["autokeras"] == after["systems"]["autokeras"]
    assert set(kept["systems"]) == set(suite.SYSTEMS) and kept["session_seconds"] > 0
    with pytest.raises(SystemExit, match="ran at 1 trials x 1 epochs, this run 3 x 5"):
        suite.main(["--keep-peers", "--sets", "synthetic_series", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--keep-peers: .* holds no 'digits' yet"):
        suite.main(["--keep-peers", "--sets", "digits", "--out", str(tmp_path)])


def test_unknown_regression_targets_are_left_out_of_training_and_score():
    bench = sets.synthetic()
    score = bench.targets["score"].copy()
    score[bench.test[:3]] = np.nan
    score[bench.train[:5]] = np.nan
    bench = sets.BenchSet(
        bench.name,
        bench.frame,
        bench.text_columns,
        bench.number_columns,
        bench.category_columns,
        bench.heads,
        {**bench.targets, "score": score},
        bench.train,
        bench.test,
        bench.images,
    )
    head = bench.heads[1]
    assert len(bench.known(head, bench.test)) == len(bench.test) - 3
    trivial = systems.trivial(bench)["score"]["value"]
    classical = systems.score(bench, systems.run_classical(bench))["heads"]["score"]["value"]
    assert np.isfinite(trivial) and np.isfinite(classical) and classical < trivial


def test_imbalanced_heads_are_scored_by_macro_f1():
    head = sets.Head("cancelled", "classification", ("flew", "cancelled"), "macro_f1")
    assert head.primary == "macro_f1" and head.higher_is_better
    assert sets.Head("delay", "regression").primary == "mae" and not sets.Head("delay", "regression").higher_is_better


def test_flights_subsample_keeps_what_is_known_before_departure():
    if not (sets.datasets_root() / "flights" / "flights.csv.zip").is_file():
        pytest.skip("shared/datasets/flights is not beside this checkout")
    bench = sets.flights(rows=400)
    assert len(bench.frame) == 400 and len(bench.train) == 320
    assert not {"dep_time", "dep_delay", "arr_time", "air_time"} & set(bench.frame.columns)
    cancelled = bench.targets["cancelled"] == 1
    # a cancelled flight never arrived: its delay is unknown, so that head skips it
    assert np.isnan(bench.targets["arr_delay"][cancelled]).all()
    assert bench.heads[1].primary == "macro_f1"


def test_a_series_set_reaches_the_classical_model_as_summary_numbers_and_the_peers_as_padded_arrays(tmp_path):
    bench = sets.synthetic_series()
    assert bench.spec()["series_channels"] == 2 and not bench.only_images()
    classical = systems.score(bench, systems.run_classical(bench))
    trivial = systems.trivial(bench)
    # the wave's length shows in its summary numbers (each channel's mean): far above the constant
    assert classical["heads"]["half_cycles"]["value"] > trivial["half_cycles"]["value"] + 0.3
    arrays = np.load(bench.save(tmp_path) / "arrays.npz")
    lengths = arrays["series_lengths"]
    assert arrays["series"].shape == (90, lengths.max(), 2) and lengths.min() >= 20
    shortest = int(np.argmin(lengths))
    assert np.isnan(arrays["series"][shortest, lengths[shortest] :]).all()
