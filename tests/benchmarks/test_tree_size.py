"""benchmarks/tree_size.py on a small draw of the shared flights: every size is scored, then the size the
hold-out chooses; the thread timing fits the raw estimator."""

import pytest

from benchmarks import sets, tree_size


@pytest.fixture(autouse=True)
def _flights():
    if not (sets.datasets_root() / "flights" / "flights.csv.zip").is_file():
        pytest.skip("shared/datasets/flights is not beside this checkout")


def test_each_size_then_the_chosen_one_is_scored_on_the_same_split():
    rows = tree_size.main(["--rows", "13000", "--leaves", "31", "255"])
    assert [r["leaves"] for r in rows[:2]] == [31, 255] and rows[2]["leaves"].startswith("chosen: ")
    trivial_mae = 25.0  # flights' delays: a constant is off by ~27 minutes on average
    assert all(0 < r["test"] < trivial_mae and r["holdout_loss"] > 0 and r["rounds"] >= 1 for r in rows)
    timed = tree_size.main(["--rows", "13000", "--leaves", "31", "--threads", "1", "--rounds", "3"])
    assert timed == [{"threads": 1, "leaves": 31, "rounds": 3, "seconds": timed[0]["seconds"]}]


def test_one_model_and_bags_of_trees_are_scored_on_each_split():
    rows = tree_size.main(["--rows", "15000", "--task", "classification", "--bag", "1", "2", "--splits", "0"])
    assert [r["arm"] for r in rows] == ["one model", "bag of 1", "bag of 2"]
    assert all(0.49 < r["test"] <= 1 and 0.05 <= r["threshold"] <= 0.95 and r["leaves"] == 31 for r in rows)
    assert rows[1]["test"] != rows[2]["test"] or rows[1]["threshold"] != rows[2]["threshold"], "a second member counts"
