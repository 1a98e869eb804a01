"""The demo data generator: deterministic, shaped like data_contracts/demo.yaml, signal in every modality."""

import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from components.data.contract import load_contract
from components.data.demo import write_demo_data
from components.layout import Layout

ROOT = Path(__file__).resolve().parents[3]


def test_same_arguments_give_the_same_files(tmp_path: Path):
    a = write_demo_data(tmp_path / "a", n_rows=40, seed=3)
    b = write_demo_data(tmp_path / "b", n_rows=40, seed=3)
    c = write_demo_data(tmp_path / "c", n_rows=40, seed=4)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert (a.parent / "images" / "item000007.png").read_bytes() == (
        b.parent / "images" / "item000007.png"
    ).read_bytes()


def test_columns_images_and_targets(tmp_path: Path):
    started = time.perf_counter()
    csv_path = write_demo_data(tmp_path, n_rows=300, image_size=16)
    assert time.perf_counter() - started < 10
    frame = pd.read_csv(csv_path)
    assert list(frame.columns) == [
        "id", "image", "description", "price", "weight", "color", "listed_on", "kind", "score", "tags"
    ]  # fmt: skip
    assert frame["id"].is_unique and len(frame) == 300
    assert set(frame["kind"]) == {"antique", "gadget", "heirloom", "tool"}
    labels = set(frame["tags"].dropna().str.split("|").explode())
    assert labels == {"bright", "dark", "fragile", "heavy", "sale"}
    assert 0 < frame["weight"].isna().mean() < 0.2 and frame["price"].isna().any()
    pd.to_datetime(frame["listed_on"], format="%Y-%m-%d")
    with Image.open(tmp_path / "images" / frame["image"][0]) as img:
        assert img.size == (16, 16) and img.mode == "RGB"


def test_kind_needs_both_image_shape_and_text_keyword(tmp_path: Path):
    frame = pd.read_csv(write_demo_data(tmp_path, n_rows=400))
    vintage = frame["description"].str.contains("vintage")
    # The keyword alone splits the four kinds into two pairs; the image picks within the pair.
    assert set(frame.loc[vintage, "kind"].value_counts().index[:2]) == {"antique", "heirloom"}
    assert set(frame.loc[~vintage, "kind"].value_counts().index[:2]) == {"gadget", "tool"}
    assert frame["kind"].value_counts(normalize=True).max() < 0.35
    log_price = np.log(frame["price"])
    assert np.corrcoef(log_price[log_price.notna()], frame["score"][log_price.notna()])[0, 1] > 0.3


def test_demo_contract_points_at_the_layout_demo_directory():
    contract = load_contract(ROOT / "data_contracts" / "demo.yaml")
    demo = Layout(ROOT / ".braid").demo_data
    assert contract.source.path == demo / "demo.csv" and contract.source.image_root == demo / "images"
    assert contract.feature("image").image_size == (32, 32)
    assert (contract.split.train, contract.split.val, contract.split.test) == (0.7, 0.15, 0.15)
    assert {t.name: t.task for t in contract.targets} == {
        "kind": "classification",
        "score": "regression",
        "tags": "multilabel",
    }
