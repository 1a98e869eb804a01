"""A category column with more values than `max_categories` reaches the pipeline's network as an embedding."""

from pathlib import Path

from components.automl.blocks.tabular import TableEncoder
from components.data import records
from components.data.contract import load_contract
from components.data.demo import write_demo_data
from components.data.preprocess import preprocess
from components.layout import Layout
from components.pipeline.results import RunSettings
from components.pipeline.train import build_automodel, datasets

ROOT = Path(__file__).resolve().parents[3]


def test_an_embedded_column_is_one_index_slot_that_the_network_embeds(tmp_path):
    csv = write_demo_data(tmp_path / "raw", n_rows=120, image_size=32)
    contract = load_contract(ROOT / "data_contracts" / "demo.yaml")
    source = contract.source.model_copy(update={"path": csv, "image_root": csv.parent / "images"})
    features = [  # color's ten values are "many" when one-hot stops at one
        f.model_copy(update={"max_categories": 1, "min_count": 1}) if f.modality == "categorical" else f
        for f in contract.features
    ]
    contract = contract.model_copy(update={"source": source, "features": features})
    directory = Path(preprocess(contract, Layout(tmp_path / "home"), data_hash="r", shard_rows=50).directory)
    state = records.load_state(directory)
    (vocabulary,) = state.tabular_categories().values()
    assert list(state.tabular_categories()) == ["color#index"] and "color#index" in state.tabular_columns()
    settings = RunSettings(max_trials=1, epochs=1)
    train, val, batch = datasets(directory, settings, 80)
    automodel = build_automodel(contract, state, tmp_path / "search" / "s", settings, [])
    automodel.fit(train, validation_data=val, epochs=1, batch_size=batch, verbose=0)
    (encoder,) = [layer for layer in automodel.export_model()._flatten_layers() if isinstance(layer, TableEncoder)]
    embedded = [(c, e) for c, e in zip(encoder.columns, encoder.embeddings) if e is not None]
    assert [c["name"] for c, _ in embedded] == ["color#index"] and embedded[0][0]["vocabulary"] == vocabulary
    assert embedded[0][1].embeddings.shape[0] == len(vocabulary) + 1  # + the shared bucket
