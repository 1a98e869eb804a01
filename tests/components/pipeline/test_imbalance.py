"""The pipeline side of rare classes (`components.imbalance`): the contract's per-target options reach
the library head, a rare target is ranked by macro-F1, and served answers follow the tuned threshold."""

import numpy as np
import pandas as pd
import pytest
import yaml

from components import evaluation
from components.data import records
from components.data.contract import load_contract
from components.data.tasks import TASKS
from components.errors import ContractError
from components.layout import Layout
from components.pipeline import prepare
from components.pipeline.results import RunSettings
from components.pipeline.train import build_automodel

CLASSIFICATION = TASKS["classification"]


def test_contract_options_reach_the_heads(tmp_path, demo_contract_factory):
    path = demo_contract_factory(tmp_path, rows=40, image_size=8)
    raw = yaml.safe_load(path.read_text())
    kind = next(t for t in raw["targets"] if t["name"] == "kind")
    kind.update(class_weight="balanced", threshold=None)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    contract = load_contract(path)
    prepared = prepare.preprocess(contract, Layout(tmp_path / "home"), prepare.fingerprint(contract), None)
    model = build_automodel(contract, records.load_state(prepared.directory), tmp_path / "search", RunSettings(), [])
    head = next(h for h in model.heads if h.name == "kind")
    assert head.class_weight == "balanced" and head.threshold is None
    kind.update(threshold=0.3)
    kind.pop("class_weight")
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    target = next(t for t in load_contract(path).targets if t.name == "kind")
    assert target.threshold == 0.3 and target.class_weight == "auto"


def test_the_options_are_refused_off_classification_and_out_of_range(tmp_path, demo_contract_factory):
    path = demo_contract_factory(tmp_path, rows=20, image_size=8)
    raw = yaml.safe_load(path.read_text())
    score = next(t for t in raw["targets"] if t["name"] == "score")
    score["threshold"] = 0.3
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(ContractError, match="'threshold' only applies to task 'classification'"):
        load_contract(path)
    del score["threshold"]
    next(t for t in raw["targets"] if t["name"] == "kind")["threshold"] = 1.5
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(ContractError, match="threshold"):
        load_contract(path)


def test_a_rare_target_is_ranked_by_macro_f1_and_scored_on_its_served_answers():
    rare = {"classes": ["no", "yes"], "counts": {"no": 975, "yes": 25}}
    even = {"classes": ["no", "yes"], "counts": {"no": 600, "yes": 400}}
    assert CLASSIFICATION.primary(rare) == "macro_f1" and CLASSIFICATION.primary(even) == "accuracy"
    outputs = np.array([[0.01], [0.20], [0.40], [0.03]])
    served = CLASSIFICATION.decode_outputs(outputs, ["no", "yes"], [0.1], "|", "cancelled")
    assert served["cancelled"] == ["no", "yes", "yes", "no"]  # 0.5 would answer "no" four times
    frame = pd.DataFrame(served)
    decisions = CLASSIFICATION.decisions(frame, "cancelled", ["no", "yes"])
    proba = CLASSIFICATION.scored(frame, "cancelled", ["no", "yes"], "|")
    report = CLASSIFICATION.evaluate(np.array([0, 1, 0, 0]), proba, rare, decisions)
    assert report.primary_metric == "macro_f1" and report.metrics["accuracy"] == 0.75
    assert report.per_class["yes"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1.0}
    baseline = CLASSIFICATION.baseline(np.array([0] * 39 + [1]), np.array([0, 1, 0, 0]), rare)
    assert baseline.primary_metric == "macro_f1" and baseline.metrics["macro_f1"] < report.metrics["macro_f1"]
    table = evaluation.markdown_table({"cancelled": report}, {"cancelled": baseline})
    assert "Primary metric per head: cancelled macro_f1" in table
    assert "Per class, cancelled:" in table and "| yes | 0.5000 | 1.0000 | 0.6667 | 1 |" in table
