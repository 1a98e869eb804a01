"""The portfolio of first trials: which candidates a kind of data gets, how a candidate fits a graph,
and that a search runs them first, in order, before its tuner's own choices."""

import random

import numpy as np
import pandas as pd
import pytest

import components as ak
from components.automl.portfolio import CANDIDATES, PORTFOLIOS, DataFacts, choose, data_facts
from components.automl.tuners.greedy import STRUCTURAL, mutation_target
from components.errors import InputError


def test_image_text_or_table_only_data_gets_its_portfolio_and_other_data_the_defaults():
    image = choose(DataFacts(("image",), image_side=28, rows=4000))
    assert image == [CANDIDATES[name] for name in PORTFOLIOS["image:small"]]
    photos = choose(DataFacts(("image",), image_side=64, rows=4000))
    assert photos == [CANDIDATES[name] for name in PORTFOLIOS["image"]] and photos != image
    assert choose(DataFacts(("text",))) == [CANDIDATES[name] for name in PORTFOLIOS["text"]]
    table = choose(DataFacts(("structured",), rows=364))
    assert table == [CANDIDATES[name] for name in PORTFOLIOS["structured"]]
    assert [c["structured:encoder/numeric_encoding"] for c in table] == ["piecewise", "standard"]
    assert choose(DataFacts(("image", "structured", "text"))) == []
    assert choose(DataFacts(("image",)), []) == []


def test_facts_come_from_fitted_input_nodes():
    node = ak.ImageInput(name="image")
    node.shape = (28, 32, 1)
    facts = data_facts([ak.TextInput(name="text"), node], rows=10)
    assert facts.kind == "image+text" and facts.image_side == 28 and facts.rows == 10
    # the pipeline's frozen embeddings of the image are the image's, a vector of its own is not
    assert data_facts([node, ak.Input(name="image__efficientnet_lite0")], rows=10).kind == "image"
    assert data_facts([node, ak.Input(name="extra")], rows=10).kind == "image+vector"


@pytest.mark.parametrize("bad", ["cnn_flat_bn", ["no_such_candidate"], [3], {"image:block_type": "resnet"}])
def test_a_bad_portfolio_is_refused_before_any_data_is_read(bad, tmp_path):
    with pytest.raises(InputError, match="portfolio"):
        ak.ImageClassifier(max_trials=1, portfolio=bad, directory=tmp_path)


def _digits(rows=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, size=(rows, 8, 8, 1), dtype=np.uint8), rng.integers(0, 3, size=rows)


def _image_search(tmp_path, portfolio, max_trials):
    """A tiny search of the given portfolio without frozen features: the classifier and its trials in order."""
    x, y = _digits()
    clf = ak.ImageClassifier(
        max_trials=max_trials,
        seed=0,
        overwrite=True,
        directory=tmp_path,
        pretrained=False,
        portfolio=portfolio,
        refit=False,
    )
    clf.fit(x, y, epochs=1, verbose=0)
    trials = sorted(clf.tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    return clf, [t.hyperparameters.values for t in trials]


def test_the_first_trials_run_the_portfolio_in_order(tmp_path):
    _, (first, second, third) = _image_search(tmp_path, ["resnet_flat", "cnn_flat_bn"], max_trials=3)
    assert first["image_block_1/block_type"] == "resnet" and first["image_block_1/reduction"] == "flatten"
    assert first["image_block_1/resnet/num_stages"] == 2 and first["learning_rate"] == 3e-3
    assert second["image_block_1/block_type"] == "vanilla" and second["image_block_1/vanilla/use_batchnorm"] is True
    assert second["image_block_1/vanilla/filters"] == 32
    # the third trial is the tuner's own: not a copy of either portfolio trial
    assert third not in (first, second)


def test_an_augmenting_candidate_sets_the_augmentation_it_switches_on(tmp_path):
    clf, (values,) = _image_search(tmp_path, ["resnet3_flat_augment_lr1e2"], max_trials=1)
    # the augmentation's hyperparameters exist only once `augment` is on: set in a later pass of `resolve`
    assert values["image_block_1/augment"] is True and values["image_block_1/augmentation/horizontal_flip"] is False
    assert values["image_block_1/augmentation/translation_factor"] == 0.1
    assert values["image_block_1/augmentation/rotation_factor"] == 0.0
    assert values["image_block_1/resnet/num_stages"] == 3 and values["learning_rate"] == 1e-2
    # shifts and zooms are drawn while training only: predictions repeat
    x, _ = _digits()
    np.testing.assert_array_equal(clf.predict_proba(x[:8]), clf.predict_proba(x[:8]))


def test_a_candidate_the_graph_cannot_run_is_skipped(tmp_path):
    # no frozen image encoder in this graph: "pretrained" does not fit it, the CNN does
    _, (values,) = _image_search(tmp_path, ["pretrained", "cnn_flat_bn"], max_trials=1)
    assert values["image_block_1/vanilla/filters"] == 32


def test_text_candidates_configure_the_text_block(tmp_path):
    rng = np.random.default_rng(0)
    words = np.array(["good", "bad", "film", "plot", "great", "dull"])
    x = np.array([" ".join(rng.choice(words, 5)) for _ in range(40)])
    y = np.array(["good" in t for t in x]).astype(int)
    clf = ak.TextClassifier(
        max_trials=2,
        seed=0,
        overwrite=True,
        directory=tmp_path,
        pretrained=False,
        portfolio=["text_pretrained", "text_ngram_lr1e2", "text_vanilla"],
        refit=False,
    )
    clf.fit(x, y, epochs=1, verbose=0)
    trials = sorted(clf.tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    first, second = (t.hyperparameters.values for t in trials)
    # no frozen text encoder in this graph: "text_pretrained" is skipped, the others run in order
    assert first["text_block_1/block_type"] == "ngram" and first["learning_rate"] == 1e-2
    assert first["text_block_1/max_tokens"] == 20000
    assert second["text_block_1/block_type"] == "vanilla"


def test_table_candidates_set_how_the_numbers_are_encoded(tmp_path):
    from components.automl.blocks.tabular import TableEncoder

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.lognormal(size=60), "c": rng.choice(["x", "y"], 60)})
    y = (frame["a"] > 0).astype(int).to_numpy()
    clf = ak.StructuredDataClassifier(
        column_types={"c": "categorical"},
        max_trials=2,
        seed=0,
        overwrite=True,
        directory=tmp_path,
        portfolio=["table_standard", "table_piecewise"],
        head_models="network",
        refit=False,
    )
    clf.fit(frame, y, epochs=1, verbose=0)
    trials = sorted(clf.tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    encodings = [
        value for t in trials for name, value in t.hyperparameters.values.items() if name.endswith("/numeric_encoding")
    ]
    assert encodings == ["standard", "piecewise"]
    widths = {}
    for trial in trials:
        model = clf.tuner.load_model(trial)
        (encoder,) = [layer for layer in model._flatten_layers() if isinstance(layer, TableEncoder)]
        widths[encoder.piecewise] = encoder.compute_output_shape((None, 3))[1]
    assert widths[False] == 2 + 3 < widths[True]  # two standardised numbers + the one-hot of c (2 values + other)


def test_greedy_mutates_a_structural_choice_half_the_time():
    names = ["image_block_1/block_type", "image_block_1/reduction", "learning_rate"] + [f"x/n{i}" for i in range(20)]
    rng = random.Random(0)
    picks = [mutation_target(rng, names) for _ in range(2000)]
    structural = sum(p.rsplit("/", 1)[-1] in STRUCTURAL for p in picks) / len(picks)
    assert 0.45 < structural < 0.65  # uniform draws would give 2/23
    assert mutation_target(random.Random(0), ["a", "b"]) in {"a", "b"}  # no structural name: any
