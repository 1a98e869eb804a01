"""The Pareto front across heads: which trials it keeps, what re-weighting picks, the plots."""

import math

import pytest
from PIL import Image

from components.errors import InputError
from components.evaluation import pareto

POINTS = {
    "a": {"genres": 0.30, "score": 0.90},  # best on genres
    "b": {"genres": 0.50, "score": 0.40},  # best on score
    "c": {"genres": 0.35, "score": 0.50},  # a compromise
    "d": {"genres": 0.55, "score": 0.95},  # dominated by every other
    "e": {"genres": 0.36, "score": 0.55},  # dominated by c only
}


def test_front_keeps_exactly_the_trials_nothing_dominates():
    assert pareto.front(POINTS) == ["a", "b", "c"]


def test_equal_points_do_not_dominate_each_other():
    assert pareto.front({"x": {"h": 1.0, "k": 2.0}, "y": {"h": 1.0, "k": 2.0}}) == ["x", "y"]


def test_weights_move_the_choice_along_the_front():
    assert pareto.choose(POINTS) == "c"
    assert pareto.choose(POINTS, {"genres": 10}) == "a"
    assert pareto.choose(POINTS, {"score": 10}) == "b"
    assert all(pareto.choose(POINTS, {"genres": w}) in pareto.front(POINTS) for w in (0.1, 1, 3, 30))


def test_bad_weights_name_the_head_or_the_value():
    with pytest.raises(InputError, match=r"\['typo'\].*heads: \['genres', 'score'\]"):
        pareto.choose(POINTS, {"typo": 1})
    with pytest.raises(InputError, match="positive"):
        pareto.choose(POINTS, {"genres": -1})
    with pytest.raises(InputError, match="nothing to choose"):
        pareto.choose({})


def test_head_losses_are_read_at_the_epoch_the_objective_chose():
    history = {
        "0": {"val_combined_loss": [2.0, 1.0, 1.5], "val_g_loss": [0.9, 0.4, 0.1], "val_s_loss": [1.1, 0.6, 1.4]},
        "1": {"val_combined_loss": [math.nan, 3.0], "val_g_loss": [1.0, 2.0], "val_s_loss": [1.0, 1.0]},
        "2": {"val_combined_loss": [math.nan], "val_g_loss": [1.0], "val_s_loss": [1.0]},  # diverged
        "3": {"val_combined_loss": [1.0], "val_g_loss": [1.0]},  # a head never logged
    }
    assert pareto.head_losses(history, ["g", "s"]) == {"0": {"g": 0.4, "s": 0.6}, "1": {"g": 2.0, "s": 1.0}}


@pytest.mark.parametrize("heads", [["genres", "score"], ["genres", "score", "rating"]])
def test_plots_draw_two_heads_as_a_scatter_and_more_as_parallel_coordinates(tmp_path, heads):
    points = {t: {h: p.get(h, 0.1 * i) for h in heads} for i, (t, p) in enumerate(POINTS.items())}
    path = pareto.plot_front(points, "c", tmp_path)
    with Image.open(path) as image:
        assert image.size[0] > 300 and len(set(image.convert("L").getdata())) > 10


def test_one_head_has_no_front_to_draw(tmp_path):
    assert pareto.plot_front({"a": {"g": 1.0}}, "a", tmp_path) is None
    assert not list(tmp_path.iterdir())
