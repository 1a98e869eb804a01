"""Property tests: whatever a user writes into a contract or a column, Braid answers with its own errors.

- The contract parser, fed random YAML mappings (random keys, values and valid-looking contracts
  with one part garbled), raises nothing but `ContractError`.
- Each modality's fit → transform, fed random cells (ints, huge numbers, floats with NaN/inf,
  unicode, None, bytes, dates in odd formats), raises nothing but `BraidError` subclasses and returns
  arrays of the promised shape with finite values.

Each property counts what became of its examples (`outcomes`) and fails when too few got through to
the assertions: a property whose every example is refused would pass while checking nothing.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.data.contract import feature_spec, load_contract
from components.data.modalities import TransformContext, codec_for
from components.errors import BraidError, ContractError

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def outcomes(prop: Callable[..., str], **strategies) -> Counter:
    """Run `prop` on `SETTINGS.max_examples` examples drawn from `strategies` (keyword arguments of `prop`);
    returns how often it returned each outcome ("loaded", "refused", "checked"...)."""
    seen: Counter = Counter()

    @SETTINGS
    @given(**strategies)
    def run(**example):
        seen[prop(**example)] += 1

    run()
    return seen


# ----------------------------------------------------------------------------------- contracts

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "image",
            "text",
            "numerical",
            "categorical",
            "datetime",
            "video",
            "classification",
            "multilabel",
            "regression",
            "quarantine",
            "fail",
            "../x.csv",
            "/etc/passwd",
            "data.csv",
            "a\x00b",
            "%Y-%m-%d",
            "-1",
            "[8, 8]",
        ]
    ),
)
_keys = st.one_of(
    st.sampled_from(
        [
            "name",
            "source",
            "path",
            "id_column",
            "features",
            "targets",
            "split",
            "modality",
            "task",
            "expect",
            "image_size",
            "train",
            "val",
            "test",
            "column",
            "on_bad_rows",
            "separator",
            "list_format",
            "list_key",
            "image_root",
            "format",
            "nullable",
            "min",
        ]
    ),
    st.text(min_size=1, max_size=12),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=12,
)

_VALID = {
    "name": "prop",
    "source": {"path": "data.csv", "image_root": "images"},
    "id_column": "id",
    "features": [
        {"name": "poster", "modality": "image", "image_size": [8, 8]},
        {"name": "price", "modality": "numerical", "expect": {"min": 0}},
        {"name": "when", "modality": "datetime", "datetime_format": "%Y-%m-%d"},
    ],
    "targets": [{"name": "genres", "task": "multilabel", "separator": "|"}, {"name": "score", "task": "regression"}],
    "split": {"train": 0.7, "val": 0.15, "test": 0.15, "seed": 1},
    "on_bad_rows": "quarantine",
}


@st.composite
def garbled_contracts(draw) -> dict:
    """A valid contract with one key path replaced, added or removed."""
    contract = yaml.safe_load(yaml.safe_dump(_VALID))
    node, path = contract, []
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node)) if isinstance(node, dict) else st.integers(0, len(node) - 1))
        if not isinstance(node[key], (dict, list)):
            break
        path.append(key)
        node = node[key]
    action = draw(st.sampled_from(["replace", "add", "remove"]))
    if isinstance(node, dict):
        key = draw(st.sampled_from(sorted(node)) if node and action != "add" else _keys)
        if action == "remove":
            node.pop(key, None)
        else:
            node[key] = draw(_values)
    elif isinstance(node, list):
        if action == "remove" and node:
            node.pop(draw(st.integers(0, len(node) - 1)))
        else:
            node.append(draw(_values))
    return contract


def _load(path: Path) -> str:
    """ "loaded" or "refused" (a `ContractError`); any other exception fails the property."""
    try:
        load_contract(path)
    except ContractError:
        return "refused"
    return "loaded"


def _write_and_load(tmp_path: Path, document) -> str:
    path = tmp_path / "contract.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return _load(path)


def test_the_valid_base_contract_loads(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(_VALID))
    assert load_contract(tmp_path / "c.yaml").source.path == tmp_path / "data.csv"


def test_random_mappings_raise_only_contract_errors(tmp_path):
    seen = outcomes(
        lambda document: _write_and_load(tmp_path, document), document=st.dictionaries(_keys, _values, max_size=8)
    )
    assert seen["refused"] >= SETTINGS.max_examples // 2, seen


def test_garbled_valid_contracts_raise_only_contract_errors(tmp_path):
    seen = outcomes(lambda document: _write_and_load(tmp_path, document), document=garbled_contracts())
    # a garbled contract is sometimes still valid (an unused key removed): both sides get exercised
    assert seen["refused"] >= 10 and seen["loaded"] >= 1, seen


def test_random_text_files_raise_only_contract_errors(tmp_path):
    def prop(text: str) -> str:
        path = tmp_path / "contract.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        return _load(path)

    seen = outcomes(
        prop, text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
    )
    assert seen["refused"] >= SETTINGS.max_examples // 2, seen


# ---------------------------------------------------------------------------------- modalities

_ODD_DATES = st.sampled_from(
    [
        "2021-02-30",
        "31/12/1999",
        "12/31/1999",
        "1999-12-31T25:61:00",
        "0000-00-00",
        "9999-12-31",
        "1677-09-21",
        "2262-04-12",
        "0001-01-01",
        "20210101",
        "2021-W05-3",
        "yesterday",
        "1e10",
        "",
        " 2020-01-01 ",
        "2020-01-01T00:00:00+25:00",
        "2020-01-01T00:00:00Z",
    ]
)
_cells = st.one_of(
    st.none(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.binary(max_size=16),
    st.binary(max_size=16).map(lambda b: b.decode("latin-1")),  # bytes-like strings
    st.booleans(),
    _ODD_DATES,
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-1e400", " 12 ", "1,5", "0x1F", "NaN", "None"]),
)
_columns = st.lists(_cells, min_size=1, max_size=12).map(lambda v: pd.Series(v, dtype=object))
_float_columns = st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=12).map(
    lambda v: pd.Series(v, dtype="float64")
)
_any_column = st.one_of(_columns, _float_columns)

FEATURES = {
    "numerical": feature_spec(name="x", modality="numerical"),
    "categorical": feature_spec(name="x", modality="categorical", max_categories=4),
    "datetime_iso": feature_spec(name="x", modality="datetime"),
    "datetime_format": feature_spec(name="x", modality="datetime", datetime_format="%d/%m/%Y"),
    "text": feature_spec(name="x", modality="text", max_tokens=8),
}


def _fit_transform(feature, train: pd.Series, serve: pd.Series, ctx: TransformContext):
    codec = codec_for(feature)
    fitter = codec.fitter(feature)
    fitter.update(train)
    fitted = fitter.finalize()
    try:
        return codec, fitted, codec.transform(feature, fitted, serve, ctx)
    except BraidError:
        return codec, fitted, None


@pytest.mark.parametrize("kind", ["numerical", "categorical", "datetime_iso", "datetime_format"])
def test_tabular_modalities_give_finite_vectors_of_the_promised_width(kind):
    feature = FEATURES[kind]

    def prop(train: pd.Series, serve: pd.Series) -> str:
        codec, fitted, out = _fit_transform(feature, train, serve, TransformContext())
        if out is None:
            return "refused"
        assert out.shape == (len(serve), len(codec.columns(feature, fitted)))
        assert out.dtype == np.float32
        assert np.isfinite(out).all(), f"non-finite output for train={list(train)} serve={list(serve)}"
        return "checked"

    seen = outcomes(prop, train=_any_column, serve=_any_column)
    assert seen["checked"] >= SETTINGS.max_examples // 2, seen


def test_text_modality_gives_one_valid_utf8_string_per_row():
    feature = FEATURES["text"]

    def prop(train: pd.Series, serve: pd.Series) -> str:
        _, fitted, out = _fit_transform(feature, train, serve, TransformContext())
        assert all(isinstance(word, str) for word in fitted["vocabulary"])
        if out is None:
            return "refused"
        assert out.shape == (len(serve),)
        for value in out:
            assert isinstance(value, str)
            value.encode("utf-8")  # raises on lone surrogates
        return "checked"

    seen = outcomes(prop, train=_any_column, serve=_any_column)
    assert seen["checked"] >= SETTINGS.max_examples // 2, seen


def test_image_modality_gives_uint8_images_or_a_data_error(tmp_path):
    from PIL import Image

    Image.new("RGB", (5, 7), (200, 10, 10)).save(tmp_path / "ok.png")
    feature = feature_spec(name="poster", modality="image", image_size=(8, 6))
    ctx = TransformContext(image_root=tmp_path)

    def prop(serve: pd.Series) -> str:
        _, _, out = _fit_transform(feature, serve, serve, ctx)
        if out is None:
            return "refused"
        assert out.shape == (len(serve), 8, 6, 3) and out.dtype == np.uint8
        return "checked"

    png = "data:image/png;base64," + base64.b64encode((tmp_path / "ok.png").read_bytes()).decode()
    paths = st.sampled_from(["ok.png", "../ok.png", "/etc/hostname", "missing.png"])
    readable = st.sampled_from(["ok.png", " ok.png ", png, None, float("nan")])  # a column of these scores
    columns = st.one_of(
        st.lists(st.one_of(_cells, paths), min_size=1, max_size=6), st.lists(readable, min_size=1, max_size=6)
    )
    seen = outcomes(prop, serve=columns.map(lambda v: pd.Series(v, dtype=object)))
    # random cells are refused almost always: the readable columns make sure images get through too
    assert seen["checked"] >= 10 and seen["refused"] >= 10, seen


def test_numerical_fit_survives_huge_values():
    _fit_transform(FEATURES["numerical"], pd.Series([1.3407807929942597e154]), pd.Series([1.0]), TransformContext())


def test_numerical_transform_of_a_huge_value_is_finite():
    _, _, out = _fit_transform(
        FEATURES["numerical"], pd.Series([None]), pd.Series([3.4028235677973366e38]), TransformContext()
    )
    assert np.isfinite(out).all()


def test_hypothesis_found_cases_stay_fixed():
    """Concrete cases the properties found once, kept as plain examples."""
    feature = FEATURES["numerical"]
    codec, fitted, out = _fit_transform(
        feature, pd.Series(["1", "3"]), pd.Series([2.0, None, math.inf]), TransformContext()
    )
    assert out.tolist() == [[0.0, 0.0], [0.0, 1.0], [0.0, 1.0]]


def test_an_image_path_with_a_nul_byte_is_a_data_error(tmp_path):
    """Found by the image property: the OS's ValueError used to escape."""
    feature = feature_spec(name="poster", modality="image", image_size=(8, 6))
    with pytest.raises(BraidError, match="NUL character"):
        codec_for(feature).transform(
            feature, {}, pd.Series(["\x00"], dtype=object), TransformContext(image_root=tmp_path)
        )
