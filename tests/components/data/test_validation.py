"""The validation gate: GE suite from the contract, row checks, summaries, quarantine, Data Docs."""

import os
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from components.data.contract import load_contract
from components.data.validation import ValidationReport, data_hash, validate
from components.errors import DataError, DataValidationError

CONTRACT = """\
name: tiny
source:
  path: {path}
  image_root: imgs
id_column: id
features:
  - name: poster
    modality: image
    expect: {{min_image_size: [4, 4]}}
  - name: note
    modality: text
  - name: size
    modality: numerical
    expect: {{min: 0, max: 100}}
  - name: colour
    modality: categorical
    expect: {{allowed: [red, blue]}}
targets:
  - name: label
    task: classification
  - name: tags
    task: multilabel
    separator: "|"
on_bad_rows: {on_bad_rows}
{extra}"""


def table(tmp_path: Path, n: int = 12) -> pd.DataFrame:
    (tmp_path / "imgs").mkdir(exist_ok=True)
    for i in range(n):
        Image.new("RGB", (8, 8), (i * 20, 10, 10)).save(tmp_path / "imgs" / f"{i}.png")
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "poster": [f"{i}.png" for i in range(n)],
            "note": [f"note number {i}" for i in range(n)],
            "size": [str(i * 5) for i in range(n)],
            "colour": ["red", "blue"] * (n // 2),
            "label": ["yes", "no", "no"] * (n // 3),
            "tags": ["a|b", "b", "c|a"] * (n // 3),
        }
    )


def contract_for(tmp_path: Path, frame: pd.DataFrame | None, *, on_bad_rows="fail", extra="", fmt="csv"):
    data = tmp_path / f"data.{fmt}"
    if frame is not None:
        frame.to_csv(data, index=False) if fmt == "csv" else frame.to_parquet(data, index=False)
    path = tmp_path / "tiny.yaml"
    path.write_text(CONTRACT.format(path=data.name, on_bad_rows=on_bad_rows, extra=extra))
    return load_contract(path)


def failing(contract, out: Path) -> tuple[str, ValidationReport]:
    with pytest.raises(DataValidationError) as err:
        validate(contract, out)
    return str(err.value), err.value.report


def test_clean_data_passes_and_writes_results_and_data_docs(tmp_path):
    contract = contract_for(tmp_path, table(tmp_path))
    report = validate(contract, tmp_path / "out")
    assert report.success and report.n_rows == 12 and report.n_used == 12 and report.n_quarantined == 0
    assert report.failures == () and report.quarantine_path is None
    assert report.results_path.is_file()
    assert (report.data_docs_dir / "index.html").is_file()
    assert list((report.data_docs_dir / "validations").rglob("*.html"))
    assert (tmp_path / "out" / "validation_report.json").is_file()
    assert "Validation passed" in report.summary_markdown()


def test_failure_summary_names_checks_columns_counts_values_and_ids(tmp_path):
    frame = table(tmp_path)
    frame.loc[3, "size"] = "twelve"  # not a number
    frame.loc[4, "size"] = "250"  # above max
    frame.loc[5, "colour"] = "purple"  # not allowed
    frame.loc[6, "label"] = None  # target missing
    frame.loc[7, "size"] = "inf"  # not finite
    message, report = failing(contract_for(tmp_path, frame), tmp_path / "out")
    assert not report.success and report.n_rows == 12
    by_check = {(f.expectation, f.column): f for f in report.failures}
    assert by_check[("values_are_numbers", "size")].examples == ("twelve",)
    assert by_check[("values_are_numbers", "size")].example_ids == ("r3",)
    assert by_check[("expect_column_values_to_be_between", "size")].example_ids == ("r4",)
    assert by_check[("expect_column_values_to_be_in_set", "colour")].examples == ("purple",)
    assert by_check[("expect_column_values_to_not_be_null", "label")].n_bad_rows == 1
    assert by_check[("values_are_finite", "size")].example_ids == ("r7",)
    assert "column 'size': values_are_numbers failed for 1 row(s)" in message
    assert "'twelve'" in message and "(ids r3)" in message
    assert "'purple'" in message and "on_bad_rows: quarantine" in message


def test_quarantine_sets_bad_rows_aside_and_counts_add_up(tmp_path):
    frame = table(tmp_path)
    frame.loc[2, "size"] = "-1"
    frame.loc[5, "poster"] = "missing.png"
    frame.loc[5, "colour"] = "purple"  # a second problem on the same row counts the row once
    contract = contract_for(tmp_path, frame, on_bad_rows="quarantine")
    report = validate(contract, tmp_path / "out")
    assert report.success
    assert report.n_quarantined == 2 and report.n_used == 10
    assert report.n_rows == report.n_used + report.n_quarantined
    quarantine = pd.read_parquet(report.quarantine_path)
    assert set(quarantine["id"]) == {"r2", "r5"}
    assert set(quarantine.loc[quarantine["id"] == "r5", "column"]) == {"poster", "colour"}
    assert "no such file" in quarantine.loc[quarantine["check"] == "image_exists", "reason"].item()
    assert "Quarantined rows" in report.summary_markdown()


def test_column_level_failures_fail_even_with_quarantine(tmp_path):
    frame = table(tmp_path).drop(columns=["note"])
    frame["size"] = "big"  # wrong dtype: no value is a number
    frame["label"] = "yes"  # single-class target
    message, report = failing(contract_for(tmp_path, frame, on_bad_rows="quarantine"), tmp_path / "out")
    checks = {(f.expectation, f.column) for f in report.failures}
    assert ("expect_column_to_exist", "note") in checks
    assert ("values_are_numbers", "size") in checks
    assert ("target_has_two_classes", "label") in checks
    assert report.n_quarantined == 0
    assert "wrong dtype" in message and "the column is missing" in message


def test_all_null_target_fails(tmp_path):
    frame = table(tmp_path)
    frame["tags"] = None
    message, report = failing(contract_for(tmp_path, frame, on_bad_rows="quarantine"), tmp_path / "out")
    assert [f.column for f in report.failures] == ["tags"]
    assert "every value of this target is missing" in message


def test_bad_images_each_get_a_reason(tmp_path):
    frame = table(tmp_path, n=12)
    root = tmp_path / "imgs"
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("not an image")
    good = (root / "0.png").read_bytes()
    Image.new("RGB", (64, 64)).save(root / "big.jpg", quality=90)
    (root / "cut.jpg").write_bytes((root / "big.jpg").read_bytes()[:300])
    Image.new("RGB", (2, 2)).save(root / "tiny.png")
    (tmp_path / "outside.png").write_bytes(good)
    os.symlink(tmp_path / "outside.png", root / "link.png")
    frame["poster"] = [
        "empty.png",
        "text.png",
        "cut.jpg",
        "tiny.png",
        "../outside.png",
        "link.png",
        str(root / "0.png"),
        "nope.png",
        "1.png",
        "2.png",
        "3.png",
        "4.png",
    ]
    contract = contract_for(tmp_path, frame, on_bad_rows="quarantine")
    report = validate(contract, tmp_path / "out")
    quarantine = pd.read_parquet(report.quarantine_path).set_index("id")
    assert report.n_quarantined == 8 and report.n_used == 4
    assert "0 bytes" in quarantine.loc["r0", "reason"]
    assert "not an image" in quarantine.loc["r1", "reason"]
    assert quarantine.loc["r2", "check"] == "image_decodes"  # truncated JPEG
    assert quarantine.loc["r3", "check"] == "image_size_between"
    for row in ("r4", "r5"):  # ../ and a symlink out of the root
        assert quarantine.loc[row, "check"] == "image_path_inside_root"
    assert "absolute path" in quarantine.loc["r6", "reason"]
    assert quarantine.loc["r7", "check"] == "image_exists"


def test_decompression_bomb_is_a_bad_image(tmp_path):
    import struct
    import zlib

    frame = table(tmp_path)
    png = bytearray((tmp_path / "imgs" / "0.png").read_bytes())
    png[16:24] = struct.pack(">II", 30_000, 30_000)  # the header now claims 900 megapixels
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    (tmp_path / "imgs" / "bomb.png").write_bytes(bytes(png))
    frame.loc[0, "poster"] = "bomb.png"
    message, report = failing(contract_for(tmp_path, frame), tmp_path / "out")
    assert "decompression bomb" in message and "(ids r0)" in message


def test_non_utf8_text_is_reported_by_row(tmp_path):
    frame = table(tmp_path)
    data = tmp_path / "data.csv"
    contract = contract_for(tmp_path, frame)
    data.write_bytes(data.read_bytes().replace(b"note number 4", b"caf\xe9 number 4"))
    message, report = failing(contract, tmp_path / "out")
    (failure,) = report.failures
    assert (failure.expectation, failure.column, failure.example_ids) == ("text_is_utf8", "note", ("r4",))
    assert "re-save the file as UTF-8" in message


def test_csv_parse_error_names_the_line(tmp_path):
    contract = contract_for(tmp_path, table(tmp_path))
    with open(contract.source.path, "a") as handle:
        handle.write("r99,9.png,a,b,c,d,e,f,g\n")
    with pytest.raises(DataError, match=r"data\.csv: .*line 14"):
        validate(contract, tmp_path / "out")


def test_empty_and_header_only_files_fail(tmp_path):
    contract = contract_for(tmp_path, table(tmp_path))
    contract.source.path.write_text("")
    message, report = failing(contract, tmp_path / "out1")
    assert report.n_rows == 0 and "the file is empty" in message
    contract.source.path.write_text("id,poster,note,size,colour,label,tags\n")
    message, report = failing(contract, tmp_path / "out2")
    assert "header but no rows" in message
    assert (report.data_docs_dir / "index.html").is_file()


def test_extra_columns_warn_or_fail(tmp_path):
    frame = table(tmp_path).assign(surprise=1)
    report = validate(contract_for(tmp_path, frame), tmp_path / "out1")
    assert report.warnings == ("columns not in the contract are ignored: surprise",)
    message, report = failing(contract_for(tmp_path, frame, extra="allow_extra_columns: false\n"), tmp_path / "out2")
    assert "expect_table_columns_to_match_set" in message and "surprise" in message


def test_duplicate_ids_across_parquet_batches(tmp_path):
    frame = table(tmp_path)
    frame.loc[9, "id"] = "r1"
    contract = contract_for(tmp_path, frame, fmt="parquet", on_bad_rows="quarantine")
    with pytest.raises(DataValidationError):  # the parquet file is read in batches of 4 rows
        validate(contract.model_copy(update={"on_bad_rows": "fail"}), tmp_path / "out1", batch_rows=4)
    report = validate(contract, tmp_path / "out2", batch_rows=4)
    assert report.n_quarantined == 1 and report.n_used == 11
    assert pd.read_parquet(report.quarantine_path)["row"].tolist() == [9]


def test_hand_written_suite_beside_the_contract_is_applied(tmp_path):
    contract = contract_for(tmp_path, table(tmp_path))
    suite = {
        "expectations": [
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "note", "regex": "^note number [0-5]$"},
            }
        ]
    }
    (tmp_path / "tiny.suite.json").write_text(__import__("json").dumps(suite))
    message, report = failing(contract, tmp_path / "out")
    (failure,) = report.failures
    assert failure.expectation == "expect_column_values_to_match_regex" and failure.n_bad_rows == 6


def test_data_hash_follows_data_contract_and_images(tmp_path):
    contract = contract_for(tmp_path, table(tmp_path))
    first = data_hash(contract)
    assert data_hash(contract) == first
    changed = contract.model_copy(update={"on_bad_rows": "quarantine"})
    assert data_hash(changed) != first
    Image.new("RGB", (9, 9)).save(tmp_path / "imgs" / "3.png")
    second = data_hash(contract)
    assert second != first
    with open(contract.source.path, "a") as handle:
        handle.write("r99,0.png,x,1,red,yes,a\n")
    assert data_hash(contract) != second


def test_missing_data_file_is_a_data_error(tmp_path):
    contract = contract_for(tmp_path, None)
    with pytest.raises(DataError, match="data file not found"):
        validate(contract, tmp_path / "out")


def test_ids_seen_in_earlier_batches_are_found_among_merged_runs():
    from components.data.validation.rows import _SeenIds

    seen = _SeenIds()
    for batch in range(50):  # 50 batches: the runs merge as a binary counter
        seen.add(_SeenIds.hashes(pd.Series([f"r{batch * 10 + i}" for i in range(10)])))
    assert len(seen.runs) <= 6
    later = pd.Series(["r35", "r999", "r472", 35, "r0"])
    assert seen.holds(_SeenIds.hashes(later)).tolist() == [True, False, True, False, True]
    numbers = _SeenIds()
    numbers.add(_SeenIds.hashes(pd.Series([1, 2.0])))
    assert numbers.holds(_SeenIds.hashes(pd.Series(["1", 1.0, 2, 3]))).tolist() == [False, True, True, False]
