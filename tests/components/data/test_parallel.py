"""Preprocessing part by part gives the one-process output: the same state, the same records per split in
the same order, the same counts; only where shard files end differs."""

from pathlib import Path

import pandas as pd
import pytest

from components.data import sources
from components.data.parallel import preprocess_in_parts, shard_contents
from components.data.preprocess import preprocess
from components.data.records import split_ids
from components.layout import Layout
from tests.components.data.test_preprocess import demo_contract


def assert_same_output(one, parts) -> None:
    assert parts.state == one.state
    assert parts.manifest.rows == one.manifest.rows
    assert parts.manifest.quarantined == one.manifest.quarantined
    assert parts.manifest.issues == one.manifest.issues
    assert parts.manifest.unseen == one.manifest.unseen
    assert parts.manifest.data_hash == one.manifest.data_hash
    assert shard_contents(parts.directory) == shard_contents(one.directory)
    for split in ("train", "val", "test"):
        assert split_ids(parts.directory, split) == split_ids(one.directory, split)
        one_table, parts_table = (tabular(r, split) for r in (one, parts))
        pd.testing.assert_frame_equal(parts_table, one_table)


def tabular(result, split: str) -> pd.DataFrame:
    files = result.manifest.files(split, "parquet")
    return pd.concat([pd.read_parquet(result.directory / f) for f in files], ignore_index=True)


@pytest.fixture(scope="module")
def csv_demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("parts")
    contract = demo_contract(directory, n_rows=90)
    # cells with commas, quotes and a newline inside quotes: CSV parts are cut at row ends, not lines
    frame = pd.read_csv(contract.source.path, dtype=str, keep_default_na=False)
    frame.loc[3, "description"] = 'said "fine",\nthen left'
    frame.loc[40, "description"] = '"quoted" start'
    path = contract.source.path.with_name("quoted.csv")
    frame.to_csv(path, index=False)
    contract = contract.model_copy(update={"source": contract.source.model_copy(update={"path": path})})
    one = preprocess(contract, Layout(directory / "one"), data_hash="h", batch_rows=25, shard_rows=16,
                     quarantine_ids={"7", "50"})  # fmt: skip
    return directory, contract, one


def test_csv_parts_are_the_rows_in_order(csv_demo):
    _, contract, _ = csv_demo
    parts = sources.source_parts(contract, part_rows=20)
    assert len(parts) == 5
    whole = pd.concat(sources.read_batches(contract, 25), ignore_index=True)
    pieces = pd.concat([f for p in parts for f in sources.read_part(contract, p, 25)], ignore_index=True)
    pd.testing.assert_frame_equal(pieces, whole)
    assert "\n" in pieces.loc[3, "description"]


@pytest.mark.parametrize("part_rows", [1_000, 30, 7])
def test_csv_in_parts_equals_one_process(csv_demo, part_rows):
    directory, contract, one = csv_demo
    parts = preprocess_in_parts(contract, Layout(directory / f"parts{part_rows}"), data_hash="h", part_rows=part_rows,
                                batch_rows=25, shard_rows=16, quarantine_ids={"7", "50"})  # fmt: skip
    assert_same_output(one, parts)
    assert (part_rows < 90) == any("-p00001-" in s.path for s in parts.manifest.shards)


def test_parquet_row_groups_in_parts_equal_one_process(tmp_path: Path):
    contract = demo_contract(tmp_path, n_rows=48)
    frame = pd.read_csv(contract.source.path)
    shards = tmp_path / "parquet"
    shards.mkdir()
    frame.iloc[:30].to_parquet(shards / "part-0.parquet", row_group_size=10)
    frame.iloc[30:].to_parquet(shards / "part-1.parquet", row_group_size=10)
    source = contract.source.model_copy(update={"path": shards, "format": "parquet"})
    contract = contract.model_copy(update={"source": source})
    assert [(Path(p.path).name, p.start, p.stop) for p in sources.source_parts(contract, part_rows=20)] == [
        ("part-0.parquet", 0, 2), ("part-0.parquet", 2, 3), ("part-1.parquet", 0, 2),
    ]  # fmt: skip
    one = preprocess(contract, Layout(tmp_path / "one"), data_hash="p", shard_rows=8)
    parts = preprocess_in_parts(contract, Layout(tmp_path / "parts"), data_hash="p", part_rows=20, shard_rows=8)
    assert_same_output(one, parts)
