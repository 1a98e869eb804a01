"""Streaming preprocessing: demo rows → shards → tf.data gives exactly what transform_frame gives."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.data.contract import Contract, Split, load_contract
from components.data.demo import write_demo_data
from components.data.preprocess import (
    assign_splits,
    encode_targets,
    fit_state,
    plan_splits,
    preprocess,
    transform_frame,
)
from components.data.records import make_dataset, split_ids
from components.errors import DataError
from components.layout import Layout

ROOT = Path(__file__).resolve().parents[3]


def demo_contract(directory: Path, n_rows: int = 60) -> Contract:
    """The demo contract pointed at freshly written demo rows with 8x8 images."""
    csv_path = write_demo_data(directory / "raw", n_rows=n_rows, image_size=8)
    contract = load_contract(ROOT / "data_contracts" / "demo.yaml")
    features = [f.model_copy(update={"image_size": (8, 8)}) if f.modality == "image" else f for f in contract.features]
    source = contract.source.model_copy(update={"path": csv_path, "image_root": csv_path.parent / "images"})
    return contract.model_copy(update={"source": source, "features": features})


def with_rows(contract: Contract, frame: pd.DataFrame, name: str) -> Contract:
    path = contract.source.path.with_name(name)
    frame.to_csv(path, index=False)
    return contract.model_copy(update={"source": contract.source.model_copy(update={"path": path})})


def read_all(directory: Path, split: str) -> tuple[dict, dict]:
    batches = list(make_dataset(directory, split, batch_size=7))
    x = {k: np.concatenate([b[0][k].numpy() for b in batches]) for k in batches[0][0]}
    y = {k: np.concatenate([b[1][k].numpy() for b in batches]) for k in batches[0][1]}
    return x, y


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo")
    contract = demo_contract(directory)
    result = preprocess(contract, Layout(directory / "home"), data_hash="h1", batch_rows=25, shard_rows=16)
    return contract, result


def test_shards_read_back_as_transform_frame_of_the_same_rows(demo):
    contract, result = demo
    raw = pd.read_csv(contract.source.path, dtype=str).set_index("id")
    assert sum(result.manifest.rows.values()) == 60 and not result.reused
    for split in ("train", "val", "test"):
        ids = split_ids(result.directory, split)
        assert len(ids) == result.manifest.rows[split] > 0
        rows = raw.loc[ids].reset_index()
        x_expected = transform_frame(result.state, rows, contract.source.image_root)
        y_expected = encode_targets(result.state, rows)
        x, y = read_all(result.directory, split)
        assert set(x) == {"image", "description", "tabular"} and set(y) == {"kind", "score", "tags"}
        np.testing.assert_array_equal(x["image"], x_expected["image"])
        assert [s.decode() for s in x["description"]] == list(x_expected["description"])
        np.testing.assert_allclose(x["tabular"], x_expected["tabular"], rtol=1e-6)
        for name in y:
            np.testing.assert_allclose(y[name], y_expected[name])


def test_manifest_lists_every_shard_with_its_hash(demo):
    _, result = demo
    import hashlib

    shards = result.manifest.shards
    assert {s.format for s in shards} == {"tfrecord", "parquet"}
    assert sum(s.rows for s in shards if s.format == "tfrecord") == 60
    assert all(s.rows <= 16 for s in shards)
    for shard in shards:
        path = result.directory / shard.path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == shard.sha256
    assert "shards/train-00000.tfrecord" in [s.path for s in shards]
    assert not list(result.directory.rglob(".*.tmp"))


def test_split_depends_only_on_seed_and_id():
    ids = [f"row{i}" for i in range(20_000)]
    splits = assign_splits(ids, Split(seed=1))
    reordered = assign_splits(ids[::-1], Split(seed=1))[::-1]
    np.testing.assert_array_equal(splits, reordered)
    fractions = pd.Series(splits).value_counts(normalize=True)
    assert abs(fractions["train"] - 0.7) < 0.02 and abs(fractions["test"] - 0.15) < 0.02
    assert (assign_splits(ids, Split(seed=2)) != splits).mean() > 0.3


def tiny_contract(directory: Path, frame: pd.DataFrame, split: str = "") -> Contract:
    """A contract of one numerical feature `x` and one classification target `label` over `frame`."""
    frame.to_csv(directory / "rows.csv", index=False)
    (directory / "tiny.yaml").write_text(
        "name: tiny\nsource: {path: rows.csv}\nid_column: id\nfeatures: [{name: x, modality: numerical}]\n"
        f"targets: [{{name: label, task: classification}}]\n{split}"
    )
    return load_contract(directory / "tiny.yaml")


def test_stratified_split_puts_every_class_in_train_and_keeps_the_fractions(tmp_path: Path):
    labels = ["common"] * 3000 + ["pair"] * 2 + ["once"] + ["few"] * 7
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(labels))], "x": 1.0, "label": labels})
    contract = tiny_contract(tmp_path, frame)
    splits = pd.Series(plan_splits(contract, batch_rows=500).assign(frame, list(frame["id"])))
    of = splits.groupby(frame["label"]).agg(sorted)
    assert of["once"] == ["train"] and "train" in of["pair"]
    assert of["few"] == ["test"] + ["train"] * 5 + ["val"]  # 7 rows: round(4.9) train, round(5.95) train + val
    fractions = splits[frame["label"] == "common"].value_counts(normalize=True)
    assert abs(fractions["train"] - 0.7) < 0.001 and abs(fractions["val"] - 0.15) < 0.001
    # The same rows in another order (and other batches) keep their splits.
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = plan_splits(tiny_contract(tmp_path, shuffled), batch_rows=333).assign(shuffled, list(shuffled["id"]))
    by_id = dict(zip(frame["id"], splits.to_numpy()))
    assert list(again) == [by_id[i] for i in shuffled["id"]]
    # Unstratified, the class of 2 rows is at the hash's mercy; with a split column the column wins.
    assert plan_splits(tiny_contract(tmp_path, frame, "split: {stratify: false}")).target is None


def test_a_class_only_the_test_split_holds_is_masked_and_reported(tmp_path: Path):
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(12)],
            "x": np.arange(12.0),
            "label": ["a", "b"] * 4 + ["a", "b", "new", "new"],
            "fold": ["train"] * 8 + ["val", "val", "val", "test"],
        }
    )
    contract = tiny_contract(tmp_path, frame, "split: {column: fold}")
    result = preprocess(contract, Layout(tmp_path / "home"), data_hash="n")
    assert result.manifest.unseen == {"label": {"val": {"new": 1}, "test": {"new": 1}}}
    assert result.manifest.issues["label: class 'new' not seen in train (encoded -1)"] == 2
    _, y = read_all(result.directory, "test")
    assert list(y["label"]) == [-1]


def test_split_column_is_used_when_given(tmp_path: Path):
    contract = demo_contract(tmp_path, n_rows=30)
    frame = pd.read_csv(contract.source.path)
    frame["fold"] = ["train"] * 20 + ["validation"] * 5 + ["TEST"] * 5
    contract = with_rows(contract, frame, "folds.csv").model_copy(update={"split": Split(column="fold")})
    result = preprocess(contract, Layout(tmp_path / "home"), data_hash="f")
    assert result.manifest.rows == {"train": 20, "val": 5, "test": 5}
    assert split_ids(result.directory, "val") == list(frame["id"][20:25])
    frame.loc[3, "fold"] = "holdout"
    with pytest.raises(DataError, match=r"row 'item000003', column 'fold'.*holdout"):
        fit_state(with_rows(contract, frame, "folds.csv"))


def test_state_is_fitted_on_train_rows_only(demo, tmp_path: Path):
    contract, result = demo
    # Unstratified, so that changing the held-out rows' class below cannot move them into train.
    contract = contract.model_copy(update={"split": contract.split.model_copy(update={"stratify": False})})
    frame = pd.read_csv(contract.source.path)
    held_out = assign_splits(list(frame["id"]), contract.split) != "train"
    frame.loc[held_out, "price"] = 1e9
    frame.loc[held_out, "color"] = "chartreuse"
    frame.loc[held_out, "description"] = "zebra zebra zebra"
    frame.loc[held_out, "listed_on"] = "1900-01-01"
    frame.loc[held_out, "kind"] = "spaceship"
    changed = fit_state(with_rows(contract, frame, "changed.csv"))
    assert changed == fit_state(contract)
    assert "chartreuse" not in changed.features[4].fitted["vocabulary"]


def test_second_call_reuses_and_a_missing_manifest_is_redone(demo, caplog):
    contract, result = demo
    layout = Layout(result.directory.parents[2])
    with caplog.at_level(logging.INFO, logger="components.data.preprocess"):
        again = preprocess(contract, layout, data_hash="h1", batch_rows=25, shard_rows=16)
    assert again.reused and again.manifest == result.manifest and "reusing" in caplog.text

    (result.directory / "manifest.json").unlink()  # as if the run was killed before the end
    (result.directory / "shards" / ".train-00009.tfrecord.tmp").write_bytes(b"half")
    redone = preprocess(contract, layout, data_hash="h1", batch_rows=25, shard_rows=16)
    assert not redone.reused and (result.directory / "manifest.json").is_file()
    assert [s.sha256 for s in redone.manifest.shards] == [s.sha256 for s in result.manifest.shards]
    assert not (result.directory / "shards" / ".train-00009.tfrecord.tmp").exists()


def test_quarantined_ids_are_skipped_and_counted(demo, tmp_path: Path):
    contract, _ = demo
    bad = {"item000001", "item000010", "item000042"}
    result = preprocess(contract, Layout(tmp_path), data_hash="h1", quarantine_ids=bad)
    assert not result.reused and result.manifest.quarantined == 3
    assert sum(result.manifest.rows.values()) == 57
    kept = [i for split in ("train", "val", "test") for i in split_ids(result.directory, split)]
    assert not bad & set(kept) and len(kept) == 57


def test_unseen_category_at_serving_goes_to_oov(demo, caplog):
    contract, result = demo
    rows = pd.read_csv(contract.source.path).head(2)
    rows.loc[0, "color"] = "chartreuse"
    with caplog.at_level(logging.WARNING, logger="components.data.preprocess"):
        x = transform_frame(result.state, rows, contract.source.image_root)
    columns = result.state.tabular_columns()
    oov, red = columns.index("color=<oov>"), columns.index(f"color={rows.loc[1, 'color']}")
    assert x["tabular"][0, oov] == 1 and x["tabular"][1, red] == 1
    assert "color: category not seen on train (the one-hot out-of-vocabulary bucket)" in caplog.text


def test_bad_image_paths_name_file_column_and_row(tmp_path: Path):
    contract = demo_contract(tmp_path, n_rows=20)
    frame = pd.read_csv(contract.source.path)
    frame.loc[5, "image"] = "../demo.csv"
    with pytest.raises(DataError, match=r"row 'item000005', column 'image'.*outside the image root"):
        preprocess(with_rows(contract, frame, "escape.csv"), Layout(tmp_path / "a"), data_hash="e")
    (contract.source.image_root / "item000007.png").unlink()
    with pytest.raises(DataError, match=r"row 'item000007', column 'image'.*item000007.png does not exist"):
        preprocess(contract, Layout(tmp_path / "b"), data_hash="m")


def test_missing_column_is_a_data_error(tmp_path: Path):
    contract = demo_contract(tmp_path, n_rows=10)
    frame = pd.read_csv(contract.source.path).drop(columns=["weight"])
    with pytest.raises(DataError, match=r"\['weight'\].*not in the data"):
        preprocess(with_rows(contract, frame, "no_weight.csv"), Layout(tmp_path), data_hash="w")


def test_parquet_shards_with_image_bytes(tmp_path: Path):
    contract = demo_contract(tmp_path, n_rows=24)
    frame = pd.read_csv(contract.source.path)
    frame["image"] = [(contract.source.image_root / name).read_bytes() for name in frame["image"]]
    shards = tmp_path / "parquet"
    shards.mkdir()
    frame.iloc[:12].to_parquet(shards / "part-0.parquet")
    frame.iloc[12:].to_parquet(shards / "part-1.parquet")
    source = contract.source.model_copy(update={"path": shards, "format": "parquet", "image_root": None})
    result = preprocess(contract.model_copy(update={"source": source}), Layout(tmp_path), data_hash="p")
    assert sum(result.manifest.rows.values()) == 24
    ids = split_ids(result.directory, "train")
    x, _ = read_all(result.directory, "train")
    expected = transform_frame(result.state, frame.set_index("id").loc[ids].reset_index())
    np.testing.assert_array_equal(x["image"], expected["image"])
    np.testing.assert_allclose(x["tabular"], expected["tabular"], rtol=1e-6)
