"""Drift between two profiles: tonight's rows against the champion's training rows, per modality."""

import json

import numpy as np
import pytest

from components.data.profile import profile_frame
from components.errors import InputError
from components.evaluation.drift import DEFAULT_THRESHOLDS, DriftReport, compare
from tests.components.data.test_profile import drift_contract, drift_rows, write_images

OTHER_WORDS = "quantum laser photon orbit plasma neutron galaxy comet nebula pulsar".split()


@pytest.fixture()
def data(tmp_path):
    """(profile function, reference profile): the reference is 300 rows of bright images and usual words."""
    root = tmp_path / "images"
    bright, dark = write_images(root, 180, "bright"), write_images(root, 60, "dark", seed=1)
    contract = drift_contract(root)

    def profile(seed=1, dark_images=False, reference=None, embeddings=None, rows=300, **shifts):
        rows = drift_rows(rows, seed, dark if dark_images else bright, **shifts)
        return profile_frame(contract, rows, image_base=root, reference=reference, embeddings=embeddings)

    return profile, profile(seed=0)


def flagged(report: DriftReport) -> set[tuple[str, str]]:
    return {(c.column, c.statistic) for c in report.drifted}


def test_data_from_the_same_distribution_does_not_drift(data):
    profile, reference = data
    report = compare(reference, profile(reference=reference))
    assert report.drifted == [], report.markdown()
    assert report.markdown().startswith("No drift")
    statistics = {(c.column, c.statistic) for c in report.checks}
    assert {
        ("price", "psi"),
        ("price", "ks"),
        ("color", "new_category_share"),
        ("description", "oov_rate_increase"),
        ("description", "length_psi"),
        ("photo", "colour_shift"),
        ("photo", "aspect_ks"),
        ("score", "target_psi"),
        ("score", "target_mean_shift"),
        ("tags", "target_psi"),
        ("kind", "target_psi"),
        ("listed_on", "missing_rate_increase"),
    } <= statistics


def test_a_shifted_number_drifts_on_psi_and_ks(data):
    profile, reference = data
    for current in (profile(price_shift=15, reference=reference), profile(price_shift=15)):  # exact, approximate
        report = compare(reference, current)
        assert flagged(report) == {("price", "psi"), ("price", "ks")}, report.markdown()
        ks = next(c for c in report.checks if c.statistic == "ks" and c.column == "price")
        assert ks.value == pytest.approx(0.55, abs=0.1)  # normal(100, 10) vs normal(115, 10): KS = 0.547


def test_new_categories_are_flagged(data):
    profile, reference = data
    report = compare(reference, profile(colors=("red", "green", "purple", "orange"), reference=reference))
    checks = {c.statistic: c for c in report.checks if c.column == "color"}
    assert checks["new_category_share"].drifted and checks["new_category_share"].value == pytest.approx(0.5, abs=0.1)
    assert checks["vanished_categories"].value == 1 and checks["vanished_categories"].threshold is None
    assert checks["psi"].drifted


def test_a_tail_category_of_a_many_valued_column_is_not_new(data):
    profile, _ = data
    colors = [f"c{i}" for i in range(150)]  # more than the 100 categories a profile keeps a share of
    reference = profile(seed=0, rows=3000, colors=colors)
    assert (
        len(reference["columns"]["color"]["frequencies"]) == 101 and len(reference["columns"]["color"]["known"]) == 150
    )
    for current in (profile(rows=3000, colors=colors, reference=reference), profile(rows=3000, colors=colors)):
        new = next(c for c in compare(reference, current).checks if c.statistic == "new_category_share")
        assert new.value == 0.0 and not new.drifted


def test_text_from_another_vocabulary_is_out_of_vocabulary(data):
    profile, reference = data
    for current in (profile(words=OTHER_WORDS, reference=reference), profile(words=OTHER_WORDS)):
        report = compare(reference, current)
        assert flagged(report) == {("description", "oov_rate_increase")}, report.markdown()
        assert report.drifted[0].value == pytest.approx(1.0)


def test_darker_images_shift_the_colour_statistics(data):
    profile, reference = data
    report = compare(reference, profile(dark_images=True, reference=reference))
    assert flagged(report) == {("photo", "colour_shift")}, report.markdown()
    assert report.drifted[0].value > 3  # 120 grey levels darker, pixel std about 20


def test_embedding_centroids_that_move_apart_drift(data):
    profile, _ = data
    rng = np.random.default_rng(0)
    around = lambda centre: centre + rng.normal(scale=0.1, size=(300, 3))  # noqa: E731
    reference = profile(seed=0, embeddings={"description": around(np.array([1.0, 0.0, 0.0]))})
    same = compare(reference, profile(embeddings={"description": around(np.array([1.0, 0.0, 0.0]))}))
    moved = compare(reference, profile(embeddings={"description": around(np.array([0.0, 1.0, 0.0]))}))
    assert same.drifted == [] and flagged(moved) == {("description", "centroid_distance")}
    assert moved.drifted[0].value == pytest.approx(1.0, abs=0.05)


def test_targets_drift_on_label_shares_and_mean_shift(data):
    profile, reference = data
    report = compare(reference, profile(score_shift=1.0, labels=("x", "y", "w"), reference=reference))
    assert {
        ("score", "target_mean_shift"),
        ("score", "target_psi"),
        ("tags", "new_label_share"),
        ("tags", "target_psi"),
    } <= flagged(report), report.markdown()
    shift = next(c for c in report.checks if c.statistic == "target_mean_shift")
    assert shift.value == pytest.approx(1.0, abs=0.2)


def test_a_column_in_one_profile_only_is_a_missing_column(data):
    profile, reference = data
    current = profile(reference=reference)
    current["columns"]["brand"] = current["columns"].pop("color")
    report = compare(reference, current)
    missing = {c.column: c.note for c in report.drifted if c.statistic == "missing_column"}
    assert missing == {"color": "absent from the current data", "brand": "absent from the reference data"}
    current["columns"]["price"] = current["columns"]["kind"]
    changed = [c for c in compare(reference, current).drifted if c.column == "price"]
    assert [(c.statistic, c.note) for c in changed] == [
        ("modality_changed", "numerical in the reference, categorical now")
    ]


def test_the_report_reads_as_metrics_markdown_and_json(data):
    profile, reference = data
    report = compare(reference, profile(price_shift=15, reference=reference))
    metrics = report.metrics()
    assert metrics["drift/price/psi"] > DEFAULT_THRESHOLDS["psi"] and metrics["drift/drifted_checks"] == 2.0
    assert all(np.isfinite(v) for v in metrics.values())
    lines = report.markdown().splitlines()
    assert lines[0] == f"**Drift: 2 of {len(report.checks)} checks over threshold** (price)"
    assert sum(line.startswith("| DRIFT | price |") for line in lines) == 2
    out = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert out["drifted"] is True and len(out["checks"]) == len(report.checks)


def test_thresholds_override_the_defaults_and_bad_ones_are_refused(data):
    profile, reference = data
    current = profile(price_shift=15, reference=reference)
    assert flagged(compare(reference, current, {"psi": 100, "ks": 1})) == set()
    with pytest.raises(InputError, match="unknown key 'pis'; valid keys: psi, ks, new_category_share"):
        compare(reference, current, {"pis": 0.1})
    with pytest.raises(InputError, match=r"thresholds\['ks'\] = -1"):
        compare(reference, current, {"ks": -1})
    with pytest.raises(InputError, match="current: not a version 1 data profile"):
        compare(reference, {"rows": 3})
