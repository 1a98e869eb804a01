"""Profiles of raw rows: every contract column summarised as plain JSON data, per modality."""

import base64
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from components.data.contract import Contract
from components.data.profile import profile_frame
from components.errors import InputError
from components.evaluation.drift import profile_fingerprint

WORDS = "red green blue bright small large wooden metal old new round square".split()


def drift_contract(image_root: Path) -> Contract:
    """A contract with one column of every modality and every target task."""
    return Contract.model_validate(
        {
            "name": "drift",
            "source": {"path": str(image_root.parent / "rows.csv"), "image_root": str(image_root)},
            "id_column": "id",
            "features": [
                {"name": "photo", "modality": "image"},
                {"name": "description", "modality": "text"},
                {"name": "price", "modality": "numerical"},
                {"name": "color", "modality": "categorical"},
                {"name": "listed_on", "modality": "datetime", "datetime_format": "%Y-%m-%d"},
            ],
            "targets": [
                {"name": "kind", "task": "classification"},
                {"name": "score", "task": "regression"},
                {"name": "tags", "task": "multilabel", "separator": "|"},
            ],
        }
    )


def write_images(folder: Path, brightness: float, prefix: str, count: int = 6, seed: int = 0) -> list[str]:
    """`count` tiny noisy PNGs around one grey level; returns their paths relative to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(count):
        pixels = np.clip(rng.normal(brightness, 20, size=(8, 12, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{prefix}{i}.png")
        names.append(f"{prefix}{i}.png")
    return names


def drift_rows(
    n: int,
    seed: int,
    images: list[str],
    price_shift: float = 0.0,
    score_shift: float = 0.0,
    colors=("red", "green", "blue"),
    words=WORDS,
    labels=("x", "y", "z"),
) -> pd.DataFrame:
    """`n` raw rows as a CSV reader gives them; the keyword arguments move one column's distribution."""
    rng = np.random.default_rng(seed)
    price = rng.normal(100 + price_shift, 10, n).round(2).astype(object)
    price[rng.random(n) < 0.05] = None
    return pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "photo": rng.choice(images, n),
            "description": [" ".join(rng.choice(list(words), rng.integers(3, 9))) for _ in range(n)],
            "price": price,
            "color": rng.choice(list(colors), n),
            "listed_on": [f"2024-{m:02d}-{d:02d}" for m, d in zip(rng.integers(1, 13, n), rng.integers(1, 29, n))],
            "kind": rng.choice(["antique", "gadget"], n),
            "score": rng.normal(score_shift, 1, n),
            "tags": ["|".join(sorted(set(rng.choice(list(labels), rng.integers(1, 3))))) for _ in range(n)],
        }
    )


@pytest.fixture()
def setup(tmp_path):
    root = tmp_path / "images"
    images = write_images(root, 180, "bright")
    return drift_contract(root), root, images


def test_every_column_is_profiled_by_its_modality(setup):
    contract, root, images = setup
    profile = profile_frame(contract, drift_rows(300, 0, images), image_base=root)
    assert profile["version"] == 1 and profile["rows"] == 300
    columns = profile["columns"]
    assert set(columns) == {"photo", "description", "price", "color", "listed_on", "kind", "score", "tags"}

    price = columns["price"]
    assert price["modality"] == "numerical" and price["role"] == "feature"
    assert 0.0 < price["missing_rate"] < 0.1 and price["count"] == round(300 * (1 - price["missing_rate"]))
    assert len(price["quantiles"]) == 101 and price["quantiles"] == sorted(price["quantiles"])
    assert len(price["bin_edges"]) == 9 and sum(price["bin_fractions"]) == pytest.approx(1.0)
    assert all(0.08 <= f <= 0.12 for f in price["bin_fractions"])  # quantile bins hold a tenth each
    assert price["mean"] == pytest.approx(100, abs=2) and price["std"] == pytest.approx(10, abs=2)

    assert set(columns["color"]["frequencies"]) == {"red", "green", "blue"}
    assert sum(columns["color"]["frequencies"].values()) == pytest.approx(1.0)
    assert columns["kind"]["modality"] == "categorical" and columns["kind"]["role"] == "target"
    assert columns["score"]["modality"] == "numerical" and columns["score"]["role"] == "target"

    tags = columns["tags"]
    assert tags["modality"] == "multilabel" and set(tags["label_frequencies"]) == {"x", "y", "z"}
    assert 1.0 <= tags["mean_labels"] <= 2.0
    assert sum(tags["label_frequencies"].values()) == pytest.approx(tags["mean_labels"])

    text = columns["description"]
    assert set(text["vocabulary"]) == set(WORDS) and text["oov_rate"] == pytest.approx(0.0)
    assert text["length"]["quantiles"][0] >= 1 and text["length"]["quantiles"][-1] <= 8

    photo = columns["photo"]
    assert photo["sampled"] == 200 and photo["unreadable"] == 0
    assert photo["width"]["quantiles"][0] == 12 and photo["height"]["mean"] == 8
    assert photo["aspect"]["mean"] == pytest.approx(1.5)
    assert all(160 < m < 200 for m in photo["channel_mean"]) and all(10 < s < 30 for s in photo["channel_std"])

    assert columns["listed_on"]["missing_rate"] == 0.0 and columns["listed_on"]["min"].startswith("2024-01")


def test_a_profile_round_trips_through_json(setup):
    contract, root, images = setup
    reference = profile_frame(
        contract,
        drift_rows(100, 0, images),
        image_base=root,
        embeddings={"description": np.random.default_rng(0).normal(size=(100, 4))},
    )
    current = profile_frame(contract, drift_rows(100, 1, images), image_base=root, reference=reference)
    for profile in (reference, current):
        assert json.loads(json.dumps(profile, allow_nan=False)) == profile


def test_missing_and_odd_cells_count_as_missing(tmp_path):
    contract = drift_contract(tmp_path)
    frame = drift_rows(8, 0, ["none.png"])
    frame["price"] = ["0", "0", "", None, float("nan"), "abc", "2.5", "1e3"]
    frame["color"] = [3.0, "3", " ", None, "a", "a", "b", "b"]  # 3.0 and "3" are one category
    frame["description"] = [None, "", "   ", "Hello, World!", "hello", "x", "y", "z"]
    frame["tags"] = ["a|b", "", None, "a", "a", "b", "c", "a|c"]
    columns = profile_frame(contract, frame)["columns"]
    assert columns["price"]["missing_rate"] == 0.5 and columns["price"]["zero_rate"] == 0.5
    assert columns["color"]["frequencies"] == {"3": 2 / 6, "a": 2 / 6, "b": 2 / 6}
    assert columns["color"]["missing_rate"] == 2 / 8
    assert columns["description"]["missing_rate"] == 3 / 8 and columns["description"]["vocabulary"]["hello"] == 2 / 6
    assert columns["tags"]["missing_rate"] == 1 / 8  # an empty cell is the empty label set, None is missing
    assert columns["tags"]["label_frequencies"]["a"] == 4 / 7


def test_images_come_from_paths_bytes_and_data_uris_and_bad_ones_are_counted(tmp_path):
    contract = drift_contract(tmp_path)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 2), (255, 0, 0)).save(buffer, format="PNG")
    png = buffer.getvalue()
    Image.new("L", (4, 2), 0).save(tmp_path / "black.png")  # greyscale: read as RGB
    frame = drift_rows(7, 0, ["black.png"])
    frame["photo"] = [
        png,
        "data:image/png;base64," + base64.b64encode(png).decode(),
        "black.png",
        "gone.png",
        b"not a png",
        "../outside.png",
        None,
    ]
    photo = profile_frame(contract, frame, image_base=tmp_path)["columns"]["photo"]
    assert photo["missing_rate"] == 1 / 7 and photo["sampled"] == 6
    assert photo["unreadable"] == 3 and photo["unreadable_rate"] == 0.5
    assert photo["channel_mean"] == pytest.approx([170, 0, 0])
    assert photo["aspect"]["mean"] == 2.0


def test_the_image_sample_is_capped_and_seeded(setup):
    contract, root, images = setup
    frame = drift_rows(50, 0, images)
    first = profile_frame(contract, frame, image_base=root, max_images=5, seed=3)
    again = profile_frame(contract, frame, image_base=root, max_images=5, seed=3)
    assert first["columns"]["photo"]["sampled"] == 5
    assert first["columns"]["photo"]["channel_mean"] == again["columns"]["photo"]["channel_mean"]


def test_a_reference_adds_shares_in_its_bins_categories_and_vocabulary(setup):
    contract, root, images = setup
    reference = profile_frame(contract, drift_rows(300, 0, images), image_base=root)
    rows = drift_rows(300, 1, images, price_shift=1000, colors=("red", "purple"), words=WORDS[:6] + ["zzz"])
    current = profile_frame(contract, rows, image_base=root, reference=reference)
    assert current["reference_fingerprint"] == profile_fingerprint(reference)
    price = current["columns"]["price"]
    assert price["fractions_in_reference"] == [0.0] * 9 + [1.0]  # every price above the reference's top bin
    assert current["columns"]["color"]["outside_reference"] == pytest.approx(
        current["columns"]["color"]["frequencies"]["purple"]
    )
    text = current["columns"]["description"]
    assert text["oov_rate_vs_reference"] == pytest.approx(text["vocabulary"]["zzz"])
    assert sum(text["length"]["fractions_in_reference"]) == pytest.approx(1.0)
    assert "fractions_in_reference" not in reference["columns"]["price"]


def test_embeddings_give_a_centroid_and_spread(setup):
    contract, root, images = setup
    frame = drift_rows(20, 0, images)
    same = np.tile([3.0, 4.0], (20, 1))
    embedding = profile_frame(contract, frame, image_base=root, embeddings={"photo": same})["columns"]["photo"]
    assert embedding["embedding"]["centroid"] == pytest.approx([0.6, 0.8]) and embedding["embedding"]["spread"] < 1e-9
    with pytest.raises(InputError, match=r"embeddings\['photo'\] has shape \(19, 2\)"):
        profile_frame(contract, frame, image_base=root, embeddings={"photo": same[:19]})
    with pytest.raises(InputError, match="'score' is not a feature"):
        profile_frame(contract, frame, image_base=root, embeddings={"score": same})


def test_a_frame_without_a_contract_column_is_refused(setup):
    contract, root, images = setup
    with pytest.raises(InputError, match=r"lacks contract column\(s\) \['price'\]"):
        profile_frame(contract, drift_rows(10, 0, images).drop(columns=["price"]), image_base=root)
