"""One definition per modality and task: the library and the pipeline fit and decide the same way."""

import numpy as np
import pandas as pd
import pytest

from components.automl.adapters import fit_node
from components.automl.heads import ClassificationHead, RegressionHead
from components.automl.nodes import StructuredDataInput
from components.data.contract import Target, feature_spec
from components.data.modalities import codec_for
from components.data.tasks import codec_for_target
from components.errors import ContractError
from components.features.registry import Registry


def pipeline_fit(codec, spec, values):
    fitter = codec.fitter(spec)
    fitter.update(pd.Series(values, dtype=object))
    return fitter.finalize()


def test_library_and_pipeline_scale_the_year_alike():
    dates = ["2001-03-04", "2010-12-31", "", "2019-07-01"]
    node = StructuredDataInput(name="t", column_names=["day"], column_types={"day": "datetime"})
    fit_node(node, np.asarray([[d] for d in dates], dtype=object))
    library = node.stats["columns"][0]
    spec = feature_spec(name="day", modality="datetime")
    pipeline = pipeline_fit(codec_for(spec), spec, [d or None for d in dates])
    assert library["mean"] == pytest.approx(pipeline["year_mean"]) == pytest.approx(2010.0)
    assert library["std"] == pytest.approx(pipeline["year_std"]) == pytest.approx(np.std([2001, 2010, 2019]))


def test_library_and_pipeline_decide_multilabel_answers_alike():
    outputs = np.array([[0.9, 0.4, 0.55], [0.1, 0.5, 0.2]], "float32")
    for thresholds in (None, [0.95, 0.3, 0.5]):
        head = ClassificationHead(name="tags", multi_label=True)
        head.fit_targets(np.array([[1, 0, 1], [0, 1, 0]], "float32"))
        head.classes, head.label_format, head.thresholds = ["a", "b", "c"], "lists", thresholds
        library = ["|".join(labels) for labels in head.decode(outputs)]
        served = codec_for_target(Target(name="tags", task="multilabel", separator="|")).decode_outputs(
            outputs, ["a", "b", "c"], thresholds, "|", "tags"
        )["tags"]
        assert library == served
    assert served == ["b|c", "b"]  # the tuned thresholds, not 0.5


def test_library_and_pipeline_decide_binary_classes_alike():
    outputs = np.array([[0.2], [0.35], [0.5], [0.9]], "float32")
    head = ClassificationHead(name="cancelled")
    head.fit_targets(np.array(["no", "yes", "no", "yes"]))
    task = codec_for_target(Target(name="cancelled", task="classification"))
    for thresholds in (None, [0.3]):
        head.thresholds = thresholds
        library = head.decode(outputs).reshape(-1).tolist()
        served = task.decode_outputs(outputs, ["no", "yes"], thresholds, "|", "cancelled")["cancelled"]
        assert library == served
    assert served == ["no", "yes", "yes", "yes"]


def test_a_constant_regression_target_is_scaled_by_one_on_both_sides():
    head = RegressionHead(name="score")
    head.fit_targets(np.full(5, 0.1))
    fitted = pipeline_fit(codec_for_target(Target(name="score", task="regression")), None, [0.1] * 5)
    assert head.std == [1.0] and fitted["std"] == 1.0


def test_each_task_names_the_head_that_learns_it():
    import components as ak

    target = Target(name="y", task="classification")
    task = codec_for_target(target)
    head = getattr(ak, task.head)(name="y", **task.head_options({"classes": ["a", "b"], "counts": {}}, target))
    assert isinstance(head, ClassificationHead) and head.num_classes == 2 and head.mask_missing


def test_the_registry_names_what_it_knows():
    registry = Registry("flavour")

    @registry.register
    class Sweet:
        name = "sweet"

    assert isinstance(registry.lookup("sweet", "dish 'cake'"), Sweet)
    with pytest.raises(ContractError, match=r"dish 'soup': no flavour 'salty' \(known: \['sweet'\]\)"):
        registry.lookup("salty", "dish 'soup'")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(Sweet)


def test_library_and_pipeline_compute_the_same_date_parts():
    import tensorflow as tf

    from components.automl.adapters import iso_dates
    from components.automl.blocks.tabular import TableEncoder
    from components.data.modalities import TransformContext

    raw = pd.Series(["2013-01-01 05:15", "2013-03-10 17:40", None, "2014-12-31 23:00", "2012-02-29 00:00"])
    strings = iso_dates(raw, "t", "departure")
    assert list(strings) == ["2013-01-01 05:15", "2013-03-10 17:40", "", "2014-12-31 23:00", "2012-02-29"]
    node = StructuredDataInput(name="t", column_names=["departure"], column_types={"departure": "datetime"})
    fit_node(node, strings[:, None].astype(object))
    library = TableEncoder(node.stats["columns"], string_input=True)(tf.constant(strings[:, None].astype(str)))
    spec = feature_spec(name="departure", modality="datetime")
    codec = codec_for(spec)
    fitted = pipeline_fit(codec, spec, raw)
    pipeline = codec.transform(spec, fitted, raw, TransformContext())
    assert node.stats["columns"][0]["parts"] == [c.split("__")[1] for c in codec.columns(spec, fitted)]
    assert "hour_sin" in node.stats["columns"][0]["parts"]
    np.testing.assert_allclose(library.numpy(), pipeline, atol=1e-5)


def test_library_and_pipeline_choose_one_hot_or_embedding_alike():
    values = [f"v{i}" for i in range(60) for _ in range(i % 7 + 1)]  # 60 values, seen 1 to 7 times
    node = StructuredDataInput(name="t", column_names=["c"], column_types={"c": "categorical"})
    fit_node(node, np.asarray([[v] for v in values], dtype=object))
    library = node.stats["columns"][0]
    spec = feature_spec(name="c", modality="categorical")
    pipeline = pipeline_fit(codec_for(spec), spec, values)
    assert library["encoding"] == pipeline["encoding"] == "embedding"  # more than 50 values
    assert library["vocabulary"] == pipeline["vocabulary"] and len(pipeline["vocabulary"]) == 24  # seen 5+ times
    few = StructuredDataInput(name="t", column_names=["c"], column_types={"c": "categorical"}, max_categories=60)
    fit_node(few, np.asarray([[v] for v in values], dtype=object))
    assert few.stats["columns"][0]["encoding"] == "one_hot" and len(few.stats["columns"][0]["vocabulary"]) == 60
