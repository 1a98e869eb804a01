"""The bad-input matrix: what Braid does with hostile or broken data, images, text, contracts and CLI arguments.

Every case starts from the demo data (`make_demo_contract`, 30 rows, 8x8 images), breaks one thing
and asserts the answer: a project error whose message names the column / row / file / key, no row
lost (with `on_bad_rows: quarantine`, n_rows == n_used + n_quarantined and the quarantine file holds
the bad rows with reasons) and, on the command line, exit code 2 with one line and no traceback.
MATRIX.md beside this file is the same matrix as a table.
"""

from __future__ import annotations

import logging
import os
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
import yaml
from PIL import Image

from components.data.contract import load_contract
from components.data.validation import validate
from components.errors import ContractError, DataError, DataValidationError
from tests.conftest import make_demo_contract

ROWS = 30
BRAID = Path(sys.executable).with_name("braid")


# ------------------------------------------------------------------------------------------ helpers


@dataclass
class Demo:
    folder: Path
    contract: Path
    csv: Path
    images: Path

    def frame(self) -> pd.DataFrame:
        return pd.read_csv(self.csv, dtype=str, keep_default_na=False)

    def edit_contract(self, change: Callable[[dict], None]) -> None:
        raw = yaml.safe_load(self.contract.read_text())
        change(raw)
        self.contract.write_text(yaml.safe_dump(raw, sort_keys=False))


def demo(folder: Path, on_bad_rows: str = "fail") -> Demo:
    folder.mkdir(parents=True, exist_ok=True)
    path = make_demo_contract(folder, rows=ROWS, image_size=8)
    case = Demo(folder, path, folder / "data" / "demo.csv", folder / "data" / "images")
    case.edit_contract(lambda raw: raw.update(on_bad_rows=on_bad_rows))
    return case


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels: a decompression bomb for any reader."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


# ------------------------------------------------------------------------------- data and images

# Each breaker edits the demo's rows (and files) and returns the frame to write, or None when it
# wrote the CSV itself. Rows are 0-based; the demo's id of row i is f"item{i:06d}".


def _set(column: str, row: int, value: str):
    def breaker(case: Demo, frame: pd.DataFrame):
        frame.loc[row, column] = value
        return frame

    return breaker


def _whole_column(column: str, value: str):
    def breaker(case: Demo, frame: pd.DataFrame):
        frame[column] = value
        return frame

    return breaker


def _image_file(row: int, content: bytes | Callable[[Path], None]):
    def breaker(case: Demo, frame: pd.DataFrame):
        target = case.images / frame.loc[row, "image"]
        content(target) if callable(content) else target.write_bytes(content)
        return frame

    return breaker


def _truncated(path: Path) -> None:
    Image.new("RGB", (64, 64), (10, 200, 30)).save(path.with_suffix(".jpg"), quality=95)
    path.write_bytes(path.with_suffix(".jpg").read_bytes()[:200])


def _symlink_out(case: Demo, frame: pd.DataFrame):
    outside = case.folder / "secret.png"
    Image.new("RGB", (8, 8)).save(outside)
    os.symlink(outside, case.images / "link.png")
    frame.loc[4, "image"] = "link.png"
    return frame


def _not_utf8(case: Demo, frame: pd.DataFrame):
    frame.loc[5, "description"] = "PLACEHOLDER"
    frame.to_csv(case.csv, index=False)
    case.csv.write_bytes(case.csv.read_bytes().replace(b"PLACEHOLDER", b"caf\xe9 cr\xe8me \xff"))


def _ragged_line(case: Demo, frame: pd.DataFrame):
    frame.to_csv(case.csv, index=False)
    with case.csv.open("a") as handle:
        handle.write("x,y,z,1,2,3,4,5,6,7,8,9\n")


@dataclass(frozen=True)
class DataCase:
    id: str
    breaker: Callable
    on_bad_rows: str  # what the contract says
    outcome: str  # "fail" (DataValidationError), "error" (DataError), "quarantine" or "pass"
    mentions: tuple[str, ...] = ()  # the message (or quarantine reasons) must name these
    bad_ids: tuple[str, ...] = ()  # rows that must be quarantined
    xfail: str | None = None


def _id(row: int) -> str:
    return f"item{row:06d}"


DATA_CASES = [
    DataCase(
        "missing-column",
        lambda c, f: f.drop(columns=["price"]),
        "quarantine",
        "fail",
        ("column 'price'", "the column is missing"),
    ),
    DataCase(
        "renamed-column",
        lambda c, f: f.rename(columns={"weight": "Weight"}),
        "fail",
        "fail",
        ("column 'weight'", "the column is missing", "ignored: Weight"),
    ),
    DataCase("extra-column-allowed", lambda c, f: f.assign(surprise="1"), "fail", "pass", ("ignored: surprise",)),
    DataCase(
        "wrong-dtype-numerical",
        _whole_column("price", "cheap"),
        "quarantine",
        "fail",
        ("column 'price'", "wrong dtype", "'cheap'"),
    ),
    DataCase(
        "nan-and-inf-numbers",
        lambda c, f: _set("price", 1, "inf")(c, _set("weight", 2, "NaN")(c, f)),
        "quarantine",
        "quarantine",
        ("price", "weight", "NaN or infinite", "not a number"),
        (_id(1), _id(2)),
    ),
    DataCase(
        "text-in-number-column",
        _set("weight", 7, "12kg"),
        "quarantine",
        "quarantine",
        ("weight", "not a number"),
        (_id(7),),
    ),
    DataCase(
        "empty-file", lambda c, f: c.csv.write_bytes(b""), "quarantine", "fail", ("the file is empty", "demo.csv")
    ),
    DataCase(
        "header-only", lambda c, f: f.iloc[:0], "quarantine", "fail", ("the file has a header but no rows", "demo.csv")
    ),
    DataCase(
        "duplicate-ids",
        _set("id", 3, _id(1)),
        "quarantine",
        "quarantine",
        ("column 'id'", "repeated", _id(1)),
        (_id(1),),
    ),
    DataCase("null-id", _set("id", 6, ""), "quarantine", "quarantine", ("column 'id'", "missing value"), ("row 6",)),
    DataCase(
        "all-null-target",
        _whole_column("kind", ""),
        "quarantine",
        "fail",
        ("column 'kind'", "every value of this target is missing"),
    ),
    DataCase(
        "single-class-target",
        _whole_column("kind", "tool"),
        "quarantine",
        "fail",
        ("column 'kind'", "one value ('tool')"),
    ),
    DataCase(
        "target-missing-in-a-row",
        _set("score", 9, ""),
        "quarantine",
        "quarantine",
        ("score", "missing value"),
        (_id(9),),
    ),
    DataCase(
        "unparseable-date",
        _set("listed_on", 8, "31/02/2020"),
        "quarantine",
        "quarantine",
        ("listed_on", "%Y-%m-%d"),
        (_id(8),),
    ),
    DataCase("ragged-csv-line", _ragged_line, "quarantine", "error", ("demo.csv", "line 32")),
    DataCase(
        "corrupt-image",
        _image_file(10, b"\x89PNG\r\n\x1a\n" + os.urandom(200)),
        "quarantine",
        "quarantine",
        ("image", "decode"),
        (_id(10),),
    ),
    DataCase(
        "truncated-image", _image_file(11, _truncated), "quarantine", "quarantine", ("image", "decode"), (_id(11),)
    ),
    DataCase("zero-byte-image", _image_file(12, b""), "quarantine", "quarantine", ("image", "0 bytes"), (_id(12),)),
    DataCase(
        "non-image-file",
        _image_file(13, b"just some text, not pixels"),
        "quarantine",
        "quarantine",
        ("image", "not an image"),
        (_id(13),),
    ),
    DataCase(
        "decompression-bomb",
        _image_file(14, png_claiming(100_000, 100_000)),
        "quarantine",
        "quarantine",
        ("image", "decompression bomb"),
        (_id(14),),
    ),
    DataCase(
        "missing-image-file",
        _set("image", 15, "nowhere.png"),
        "quarantine",
        "quarantine",
        ("image", "no such file"),
        (_id(15),),
    ),
    DataCase(
        "dotdot-image-path",
        _set("image", 16, "../demo.csv"),
        "quarantine",
        "quarantine",
        ("image", "outside the image root"),
        (_id(16),),
    ),
    DataCase(
        "absolute-image-path",
        _set("image", 17, "/etc/hostname"),
        "quarantine",
        "quarantine",
        ("image", "absolute path"),
        (_id(17),),
    ),
    DataCase(
        "symlink-out-of-root", _symlink_out, "quarantine", "quarantine", ("image", "outside the image root"), (_id(4),)
    ),
    DataCase("non-utf8-text", _not_utf8, "quarantine", "quarantine", ("description", "not UTF-8"), (_id(5),)),
    DataCase("multi-megabyte-text", _set("description", 18, "word " * 600_000), "fail", "pass"),
    DataCase(
        "bad-rows-fail-the-gate",
        _set("price", 19, "lots"),
        "fail",
        "fail",
        ("column 'price'", "'lots'", _id(19), "on_bad_rows: quarantine"),
    ),
    DataCase(
        "every-row-bad", _whole_column("image", "nowhere.png"), "quarantine", "fail", ("every row failed a check",)
    ),
]


@pytest.mark.parametrize("case", DATA_CASES, ids=[c.id for c in DATA_CASES])
def test_bad_data(tmp_path, case: DataCase):
    d = demo(tmp_path, case.on_bad_rows)
    frame = case.breaker(d, d.frame())
    if isinstance(frame, pd.DataFrame):
        frame.to_csv(d.csv, index=False)
    contract = load_contract(d.contract)

    if case.outcome == "error":
        with pytest.raises(DataError) as err:
            validate(contract, tmp_path / "out")
        message = str(err.value)
    elif case.outcome == "fail":
        with pytest.raises(DataValidationError) as err:
            validate(contract, tmp_path / "out")
        message, report = str(err.value), err.value.report
        assert not report.success and report.failures
    else:
        report = validate(contract, tmp_path / "out")
        message = report.summary_markdown()
        assert report.success
        assert report.n_rows == ROWS
        assert report.n_rows == report.n_used + report.n_quarantined
        if case.outcome == "pass":
            assert report.n_quarantined == 0 and report.quarantine_path is None
        else:
            quarantine = pd.read_parquet(report.quarantine_path)
            assert report.n_quarantined == quarantine["row"].nunique()
            assert set(case.bad_ids) <= set(quarantine["id"])
            assert quarantine["reason"].str.len().gt(0).all() and quarantine["column"].notna().all()
            message += "\n" + "\n".join(quarantine["reason"])
    for needle in case.mentions:
        assert needle in message, f"{needle!r} not in:\n{message}"


def test_quarantine_is_exact_on_a_mix_of_bad_rows(tmp_path):
    d = demo(tmp_path, "quarantine")
    frame = d.frame()
    frame.loc[2, "price"] = "-inf"
    frame.loc[3, "image"] = "../../etc/passwd"
    frame.loc[3, "weight"] = "heavy"  # the same row twice: counted once
    (d.images / frame.loc[4, "image"]).write_bytes(b"")
    frame.to_csv(d.csv, index=False)
    report = validate(load_contract(d.contract), tmp_path / "out")
    quarantine = pd.read_parquet(report.quarantine_path)
    assert set(quarantine["id"]) == {_id(2), _id(3), _id(4)}
    assert report.n_quarantined == 3 and report.n_used == ROWS - 3
    assert set(quarantine.loc[quarantine["id"] == _id(3), "column"]) == {"image", "weight"}


def test_unreadable_parquet_names_the_file(tmp_path):
    d = demo(tmp_path)
    bad = tmp_path / "data" / "demo.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    d.edit_contract(lambda raw: raw["source"].update(path=str(bad), format="parquet"))
    with pytest.raises(DataError, match="demo.parquet"):
        validate(load_contract(d.contract), tmp_path / "out")


def test_corrupt_image_bytes_in_a_parquet_column_are_quarantined(tmp_path):
    d = demo(tmp_path, "quarantine")
    frame = pd.read_csv(d.csv, dtype=str)  # empty cells are nulls in Parquet, not ""
    frame["image"] = [(d.images / name).read_bytes() for name in frame["image"]]
    frame.loc[3, "image"] = b"\xff\xd8\xff garbage"
    frame.loc[4, "image"] = b""
    frame.to_parquet(tmp_path / "data" / "demo.parquet", index=False)
    d.edit_contract(lambda raw: raw["source"].update(path=str(tmp_path / "data" / "demo.parquet"), format="parquet"))
    report = validate(load_contract(d.contract), tmp_path / "out")
    quarantine = pd.read_parquet(report.quarantine_path)
    assert set(quarantine["id"]) == {_id(3), _id(4)}
    assert report.n_rows == report.n_used + report.n_quarantined == ROWS


def test_contract_pointing_at_a_missing_data_file(tmp_path):
    d = demo(tmp_path)
    d.csv.unlink()
    with pytest.raises(DataError, match=r"demo\.csv: data file not found .*source\.path") as caught:
        validate(load_contract(d.contract), tmp_path / "out")
    assert ("braid demo-data" in str(caught.value)) == (d.csv.parent.name == "demo")


def test_the_bundled_demo_contract_without_its_data_says_how_to_make_it(tmp_path):
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "data_contracts" / "demo.yaml").read_text())
    raw["source"] = {
        "path": str(tmp_path / "demo" / "demo.csv"),
        "format": "csv",
        "image_root": str(tmp_path / "demo" / "images"),
    }
    (tmp_path / "demo.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(DataError, match="braid demo-data"):
        validate(load_contract(tmp_path / "demo.yaml"), tmp_path / "out")


# ------------------------------------------------------------------------------------ serving


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A preprocessing state fitted on the demo's rows (no model needed for these checks)."""
    from components.data.preprocess import fit_state

    d = demo(tmp_path_factory.mktemp("served"))
    contract = load_contract(d.contract)
    return fit_state(contract), d.frame(), contract.source.image_root


def test_serving_counts_unseen_categories_and_labels(served, caplog):
    from components.data.preprocess import encode_targets, transform_frame

    state, frame, root = served
    rows = frame.iloc[:3].copy()
    rows.loc[0, "color"] = "ultraviolet"
    rows.loc[1, "kind"] = "spaceship"
    rows.loc[2, "tags"] = "brand-new|bright"
    with caplog.at_level(logging.WARNING, logger="components.data.preprocess"):
        x = transform_frame(state, rows, root)
        y = encode_targets(state, rows)
    assert x["tabular"].shape[0] == 3 and x["image"].shape == (3, 8, 8, 3)
    assert y["kind"].tolist()[1] == -1 and y["tags"].shape[0] == 3
    logged = caplog.text
    assert "color: category not seen on train (the one-hot out-of-vocabulary bucket): 1 row(s) (33% of 3)" in logged
    assert "kind: class 'spaceship' not seen in train (encoded -1): 1 row(s)" in logged
    assert "tags: label not seen in train (dropped): 1 row(s)" in logged


@pytest.mark.parametrize("path", ["../demo.csv", "/etc/hostname", "sub/../../demo.csv"])
def test_serving_refuses_image_paths_outside_the_root(served, path):
    from components.data.preprocess import transform_frame

    state, frame, root = served
    rows = frame.iloc[:2].copy()
    rows.loc[1, "image"] = path
    with pytest.raises(DataError, match=rf"row '{_id(1)}', column 'image'.*outside the image root"):
        transform_frame(state, rows, root)


def test_serving_refuses_a_symlink_out_of_the_root(served, tmp_path):
    from components.data.preprocess import transform_frame

    state, frame, root = served
    outside = tmp_path / "outside.png"
    Image.new("RGB", (8, 8)).save(outside)
    link = root / f"link-{os.getpid()}-{tmp_path.name}.png"
    os.symlink(outside, link)
    try:
        rows = frame.iloc[:1].copy()
        rows.loc[0, "image"] = link.name
        with pytest.raises(DataError, match="outside the image root"):
            transform_frame(state, rows, root)
    finally:
        link.unlink()


def test_serving_names_a_missing_column_and_an_unreadable_image(served):
    from components.data.preprocess import transform_frame

    state, frame, root = served
    with pytest.raises(DataError, match=r"\['price'\]"):
        transform_frame(state, frame.drop(columns=["price"]).iloc[:2], root)
    rows = frame.iloc[:2].copy()
    rows.loc[1, "image"] = "nowhere.png"
    with pytest.raises(DataError, match=rf"row '{_id(1)}', column 'image'.*does not exist"):
        transform_frame(state, rows, root)


def test_serving_collects_every_unreadable_row_in_one_pass(served):
    from components.data.modalities import RowError, TransformContext
    from components.data.preprocess import transform_frame

    state, frame, root = served
    rows = frame.iloc[:3].copy()
    rows.loc[0, "image"] = "nowhere.png"
    rows.loc[2, "image"] = "../demo.csv"
    bad: dict = {}
    x = transform_frame(state, rows, root, row_errors=bad)
    assert sorted(bad) == [0, 2] and {e.column for e in bad.values()} == {"image"}
    assert "nowhere.png" in bad[0].problem and "outside the image root" in bad[2].problem
    assert not x["image"][[0, 2]].any() and x["image"][1].any(), "bad rows zero-filled, the good one decoded"
    # a context over some rows (as embeddings make) reports them at the caller's positions
    whole = TransformContext(row_errors={})
    whole.subset([1, 3]).reject(1, "image", "names no file")
    assert whole.row_errors == {3: RowError("image", "names no file")}
    with pytest.raises(DataError, match=r"row '#3', column 'image': names no file"):
        TransformContext().subset([1, 3]).reject(1, "image", "names no file")


def test_serving_turns_bad_numbers_and_dates_into_missing_flags(served):
    import numpy as np

    from components.data.preprocess import transform_frame

    state, frame, root = served
    rows = frame.iloc[:3].copy()
    rows["price"] = ["abc", "inf", "-1e400"]
    rows["listed_on"] = ["31/02/2020", "", "2020-13-45"]
    x = transform_frame(state, rows, root)
    assert np.isfinite(x["tabular"]).all()


def test_predict_frame_rejects_missing_columns_and_empty_frames_before_the_model(served):
    from components.serving import ServingConfig, predict_frame

    state, frame, root = served
    config = ServingConfig(
        contract="demo", id_column="id", feature_columns=["image", "description", "price"], targets=[]
    )
    with pytest.raises(DataError, match=r"lack column\(s\) \['price'\]"):
        predict_frame(None, state, config, frame.drop(columns=["price"]), root)
    with pytest.raises(DataError, match="empty"):
        predict_frame(None, state, config, frame.iloc[:0], root)


# ----------------------------------------------------------------------------------- contracts


def _valid_contract_text(d: Demo) -> str:
    return d.contract.read_text()


CONTRACT_CASES = [
    # (id, edit of the parsed YAML or replacement text, words the error must contain)
    ("malformed-yaml", "name: demo\nfeatures: [unclosed\n  - x: 1\n", ("line 3", "not valid YAML")),
    ("tabs-in-yaml", "name: demo\n\tsource: x\n", ("not valid YAML",)),
    ("not-a-mapping", "- a\n- b\n", ("a contract is a YAML mapping",)),
    ("empty-file", "", ("a contract is a YAML mapping",)),
    ("unknown-top-level-key", lambda r: r.update(colour="blue"), ("unknown key 'colour'", "allowed: name")),
    ("unknown-nested-key", lambda r: r["features"][2].update(maximum=5), ("features[2].maximum", "unknown key")),
    (
        "typo-in-expect",
        lambda r: r["features"][2]["expect"].update(minn=0),
        ("features[2].expect.minn", "allowed: nullable"),
    ),
    (
        "unknown-modality",
        lambda r: r["features"][1].update(modality="vidoe"),
        ("features[1].modality", "'vidoe' is not one of"),
    ),
    ("unknown-task", lambda r: r["targets"][0].update(task="ranking"), ("targets[0].task", "'ranking'")),
    ("missing-required-key", lambda r: r.pop("id_column"), ("id_column", "required key is missing")),
    ("no-features", lambda r: r.update(features=[]), ("features",)),
    ("split-not-summing-to-one", lambda r: r["split"].update(train=0.9), ("split", "sum to 1")),
    ("duplicate-column-names", lambda r: r["features"][3].update(name="price"), ("features[3].name", "named twice")),
    (
        "negative-image-size",
        lambda r: r["features"][0].update(image_size=[0, -8]),
        ("features[0].image_size", "greater than 0"),
    ),
    ("string-budget-in-number", lambda r: r["features"][1].update(max_tokens="many"), ("features[1].max_tokens",)),
    ("path-in-contract-name", lambda r: r.update(name="../../evil"), ("name", "pattern")),
    (
        "separator-on-classification",
        lambda r: r["targets"][0].update(separator="|"),
        ("targets[0]", "'separator' only applies"),
    ),
    ("bad-on-bad-rows", lambda r: r.update(on_bad_rows="ignore"), ("on_bad_rows", "'ignore'")),
]


@pytest.mark.parametrize("case_id,edit,mentions", CONTRACT_CASES, ids=[c[0] for c in CONTRACT_CASES])
def test_bad_contract(tmp_path, case_id, edit, mentions):
    d = demo(tmp_path)
    if callable(edit):
        d.edit_contract(edit)
    else:
        d.contract.write_text(edit)
    with pytest.raises(ContractError) as err:
        load_contract(d.contract)
    message = str(err.value)
    assert str(d.contract) in message
    for needle in mentions:
        assert needle in message, f"{needle!r} not in:\n{message}"


def test_duplicate_key_non_utf8_and_missing_contract_files(tmp_path):
    d = demo(tmp_path)
    d.contract.write_text(d.contract.read_text() + "name: again\n")
    with pytest.raises(ContractError, match=r"line \d+, name: key given twice"):
        load_contract(d.contract)
    d.contract.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ContractError, match="not UTF-8"):
        load_contract(d.contract)
    with pytest.raises(ContractError, match="nothere.yaml: contract file not found"):
        load_contract(tmp_path / "nothere.yaml")


def test_a_contract_written_as_valid_loads(tmp_path):
    """The base case every other case breaks: it loads and validates."""
    d = demo(tmp_path)
    report = validate(load_contract(d.contract), tmp_path / "out")
    assert report.success and report.n_used == ROWS


# ----------------------------------------------------------------------------------------- CLI


@dataclass(frozen=True)
class CliCase:
    id: str
    args: Callable[[Demo], list[str]]  # arguments after `braid`
    mentions: tuple[str, ...]
    setup: Callable[[Demo], None] | None = None
    exit_code: int = 2
    budget: bool = False  # must fail before any work: BRAID_HOME stays empty
    slow: bool = False  # each `braid` start imports TensorFlow (~10 s): the core cases run by default


def _break_row(d: Demo) -> None:
    frame = d.frame()
    frame.loc[3, "price"] = "lots"
    frame.to_csv(d.csv, index=False)


def _quarantine_row(d: Demo) -> None:
    _break_row(d)
    d.edit_contract(lambda raw: raw.update(on_bad_rows="quarantine"))


CLI_CASES = [
    CliCase(
        "run-max-trials-negative",
        lambda d: ["run", str(d.contract), "--max-trials", "-1"],
        ("'--max-trials'", "greater than or equal to 1"),
        budget=True,
    ),
    CliCase(
        "run-epochs-zero",
        lambda d: ["run", str(d.contract), "--epochs", "0"],
        ("'--epochs'", "greater than or equal to 1"),
        budget=True,
    ),
    CliCase(
        "run-time-budget-negative",
        lambda d: ["run", str(d.contract), "--time-budget", "-5"],
        ("--time-budget", "-5"),
        budget=True,
    ),
    CliCase(
        "run-absurd-trials",
        lambda d: ["run", str(d.contract), "--max-trials", "1000000"],
        ("'--max-trials'", "less than or equal to 10000"),
        budget=True,
        slow=True,
    ),
    CliCase(
        "run-non-numeric-epochs",
        lambda d: ["run", str(d.contract), "--epochs", "many"],
        ("--epochs", "valid integer"),
        budget=True,
        slow=True,
    ),
    CliCase(
        "validate-missing-contract",
        lambda d: ["validate", str(d.folder / "nothere.yaml")],
        ("nothere.yaml", "not found"),
        slow=True,
    ),
    CliCase(
        "validate-malformed-yaml",
        lambda d: ["validate", str(d.contract)],
        ("demo.yaml", "line", "not valid YAML"),
        setup=lambda d: d.contract.write_text("name: [oops\n"),
    ),
    CliCase(
        "validate-unknown-modality",
        lambda d: ["validate", str(d.contract)],
        ("features[2].modality", "'video'"),
        setup=lambda d: d.edit_contract(lambda raw: raw["features"][2].update(modality="video")),
        slow=True,
    ),
    CliCase(
        "validate-missing-data-file",
        lambda d: ["validate", str(d.contract)],
        ("demo.csv", "not found"),
        setup=lambda d: d.csv.unlink(),
        slow=True,
    ),
    CliCase(
        "validate-bad-row",
        lambda d: ["validate", str(d.contract)],
        ("column 'price'", "'lots'", "item000003"),
        setup=_break_row,
    ),
    CliCase(
        "validate-quarantine-passes",
        lambda d: ["validate", str(d.contract)],
        ("29 usable", "1 quarantined"),
        setup=_quarantine_row,
        exit_code=0,
        slow=True,
    ),
    CliCase(
        "infer-missing-data",
        lambda d: ["contract", "infer", str(d.folder / "nothere.csv")],
        ("nothere.csv", "not found"),
        slow=True,
    ),
    CliCase(
        "infer-unknown-target",
        lambda d: ["contract", "infer", str(d.csv), "--target", "genre"],
        ("genre", "not found"),
        slow=True,
    ),
]


def _run_cli(case: CliCase, root: Path) -> tuple[CliCase, Demo, subprocess.CompletedProcess]:
    d = demo(root / case.id)
    if case.setup:
        case.setup(d)
    env = {
        **os.environ,
        "BRAID_HOME": str(d.folder / "home"),
        "PREFECT_HOME": str(d.folder / "prefect"),
        "COLUMNS": "400",
    }
    done = subprocess.run(
        [str(BRAID), *case.args(d)], capture_output=True, text=True, env=env, timeout=300, cwd=d.folder
    )
    return case, d, done


@pytest.fixture(scope="module")
def cli_results(request, tmp_path_factory):
    """The selected CLI cases, run at once: each `braid` start costs seconds of imports, so they overlap."""
    selected = {
        item.callspec.params["case_id"]
        for item in request.session.items
        if item.originalname == "test_cli" and hasattr(item, "callspec")
    }
    root = tmp_path_factory.mktemp("cli")
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda case: _run_cli(case, root), [c for c in CLI_CASES if c.id in selected]))
    return {case.id: (case, d, done) for case, d, done in results}


@pytest.mark.skipif(not BRAID.exists(), reason="the braid console script is not installed")
@pytest.mark.parametrize("case_id", [pytest.param(c.id, marks=[pytest.mark.slow] if c.slow else []) for c in CLI_CASES])
def test_cli(cli_results, case_id):
    case, d, done = cli_results[case_id]
    output = done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == case.exit_code, output
    assert "## " not in output, output  # a validation report is drawn, not printed as Markdown
    flat = " ".join(output.split())
    for needle in case.mentions:
        assert needle in flat, f"{needle!r} not in:\n{output}"
    if case.budget:
        assert not (d.folder / "home").exists(), "a budget error must stop before any work"
