"""AutoGluon Tabular on a prepared benchmark set, run inside benchmarks/.work/venv-autogluon.

    venv-autogluon/bin/python benchmarks/peers/run_autogluon.py SET_DIR OUT_DIR --seconds-per-head 60

SET_DIR holds what `benchmarks.sets.BenchSet.save` writes. One `TabularPredictor` per head
(presets "medium_quality"), on the text columns (AutoGluon turns them into its n-gram features),
the numbers, the categories and the dates; no image (AutoGluon Tabular has no image model without its
multimodal extras). A multi-label head is one binary predictor per label, as the docs'
`MultilabelPredictor` does (labels independent: no label is fed to the next). Those predictors
share one `AutoMLPipelineFeatureGenerator` fitted on train (the n-gram features cost more than a
label's share of the head's seconds: 60 s / 20 labels) and split what the head has left equally. Writes OUT_DIR/predictions.npz (`pred_<head>` on the test rows:
probabilities [N, L] or [N, C], values [N]) and OUT_DIR/result.json.
Standalone on purpose: it runs in its own virtualenv and imports nothing from Braid.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

PROBLEM = {"regression": ("regression", "mean_absolute_error"), "classification": ("multiclass", "accuracy")}
METRIC = {"macro_f1": "f1_macro"}  # Braid's primary-metric names -> AutoGluon's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seconds-per-head", type=float, default=60.0)
    parser.add_argument("--presets", default="medium_quality")
    args = parser.parse_args()

    import autogluon.tabular
    from autogluon.features.generators import AutoMLPipelineFeatureGenerator
    from autogluon.tabular import TabularPredictor

    spec = json.loads((args.set_dir / "spec.json").read_text())
    frame = pd.read_parquet(args.set_dir / "features.parquet")
    arrays = np.load(args.set_dir / "arrays.npz")
    train, test = arrays["train"], arrays["test"]
    dates = spec.get("date_columns", [])
    columns = spec["text_columns"] + spec["number_columns"] + spec["category_columns"] + dates
    features = frame[columns].copy()
    for column in spec["category_columns"]:
        features[column] = features[column].astype("category")
    for column in dates:  # AutoGluon's datetime features (year, month, day, weekday, as a number)
        features[column] = pd.to_datetime(features[column])
    workdir = Path(tempfile.mkdtemp(prefix="autogluon-"))
    fit_args = {"presets": args.presets, "verbosity": 0}

    def fit(
        table, label: np.ndarray, problem: str, metric: str, seconds: float, name: str, **extra
    ) -> TabularPredictor:
        predictor = TabularPredictor(
            label="__label__", problem_type=problem, eval_metric=metric, path=str(workdir / name)
        )
        labels = label[train]
        # an unknown regression target (NaN: a cancelled flight's delay) is left out, as every system does
        known = np.isfinite(labels) if problem == "regression" else np.ones(len(labels), bool)
        return predictor.fit(
            table[known].assign(__label__=labels[known]), time_limit=max(seconds, 1.0), **fit_args, **extra
        )

    out, per_head = {}, {}
    started = time.monotonic()
    for head in spec["heads"]:
        head_started = time.monotonic()
        target = arrays[f"y_{head['name']}"]
        if head["task"] == "multilabel":
            generator = AutoMLPipelineFeatureGenerator(verbosity=0)
            encoded_train = generator.fit_transform(features.iloc[train].reset_index(drop=True))
            encoded_test = generator.transform(features.iloc[test].reset_index(drop=True))
            left = args.seconds_per_head - (time.monotonic() - head_started)
            share = max(left / target.shape[1], 2.0)
            proba = np.zeros((len(test), target.shape[1]))
            for j, label in enumerate(head["names"]):
                positives = int(target[train, j].sum())
                if positives < 2 or positives > len(train) - 2:
                    proba[:, j] = positives / len(train)  # one class in train: nothing to learn
                    continue
                predictor = fit(
                    encoded_train,
                    target[:, j],
                    "binary",
                    "log_loss",
                    share,
                    f"{head['name']}_{j}",
                    feature_generator=None,
                )
                proba[:, j] = predictor.predict_proba(encoded_test, as_multiclass=True)[1].to_numpy()
            out[f"pred_{head['name']}"] = proba
        else:
            problem, metric = PROBLEM[head["task"]]
            metric = METRIC.get(head.get("metric", ""), metric)  # the set's primary metric where it names one
            if problem == "multiclass" and len(head["names"]) == 2:
                # AutoGluon calibrates a binary head's decision threshold for metrics such as F1; a two-class
                # "multiclass" head would predict the majority on a rare class
                problem = "binary"
            predictor = fit(features.iloc[train], target, problem, metric, args.seconds_per_head, head["name"])
            if problem == "regression":
                out[f"pred_{head['name']}"] = predictor.predict(features.iloc[test]).to_numpy(float)
            else:
                frame_proba = predictor.predict_proba(features.iloc[test], as_multiclass=True)
                proba = np.zeros((len(test), len(head["names"])))
                for column in frame_proba.columns:
                    proba[:, int(column)] = frame_proba[column].to_numpy()
                if problem == "binary" and predictor.decision_threshold != 0.5:
                    # AutoGluon's calibrated threshold t as its predictions use it, in probabilities the
                    # harness reads by argmax: the positive's odds divided by t's (order kept: AUC unchanged)
                    threshold = predictor.decision_threshold
                    odds = proba[:, 1] / np.clip(proba[:, 0], 1e-12, None) * (1 - threshold) / threshold
                    proba[:, 1] = odds / (1 + odds)
                    proba[:, 0] = 1 - proba[:, 1]
                out[f"pred_{head['name']}"] = proba
        per_head[head["name"]] = round(time.monotonic() - head_started, 1)
    seconds = time.monotonic() - started
    args.out_dir.mkdir(parents=True, exist_ok=True)
    np.savez(args.out_dir / "predictions.npz", **out)
    result = {
        "system": "autogluon",
        "version": autogluon.tabular.__version__,
        "seconds": round(seconds, 1),
        "seconds_per_head": per_head,
        "time_limit_per_head": args.seconds_per_head,
        "presets": args.presets,
        "features": "text columns (n-grams) + numbers + categories + dates, no image",
    }
    (args.out_dir / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
