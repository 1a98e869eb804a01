"""AutoKeras 3.0 on a prepared benchmark set, run inside benchmarks/.work/venv-autokeras.

    venv-autokeras/bin/python benchmarks/peers/run_autokeras.py SET_DIR OUT_DIR --trials 3 --epochs 5 --seed 0

SET_DIR holds what `benchmarks.sets.BenchSet.save` writes. A set of one input and one head runs through
AutoKeras's task class for it (`ImageClassifier`, `TextClassifier`, ...: what its users call, with the
task's own first trials); any other, one AutoModel with every input the set has
(image, the joined text, the numbers; AutoKeras 3.0's StructuredDataInput takes numbers only, so
categorical columns are left out and missing numbers are filled with the train median) and one
head per target. A regression target missing on some rows (flights' arr_delay, unknown for cancelled
flights) is filled with its train median: AutoKeras has no per-head mask, a NaN target makes every
trial's loss NaN ("Number of consecutive failures exceeded the limit of 3"), and dropping those rows
would drop every cancelled flight from the other head. The test score counts only rows with a target.
Writes OUT_DIR/predictions.npz (`pred_<head>` on the test rows: 0/1 label matrices at AutoKeras's 0.5
threshold, one-hot classes, values) and OUT_DIR/result.json.
Standalone on purpose: it runs in its own virtualenv and imports nothing from Braid.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import autokeras as ak
    import keras
    import tensorflow as tf

    spec = json.loads((args.set_dir / "spec.json").read_text())
    frame = pd.read_parquet(args.set_dir / "features.parquet")
    arrays = np.load(args.set_dir / "arrays.npz")
    train, test = arrays["train"], arrays["test"]
    numbers = frame[spec["number_columns"]].to_numpy(float)
    numbers = np.where(np.isnan(numbers), np.nanmedian(numbers[train], axis=0), numbers)

    inputs, x = [], []
    if spec["image"]:
        inputs.append(ak.ImageInput(name="image"))
        x.append(arrays["images"])
    if spec["text_columns"]:
        inputs.append(ak.TextInput(name="text"))
        x.append(frame["text"].to_numpy(dtype=str))
    if spec["number_columns"]:
        inputs.append(ak.StructuredDataInput(name="numbers"))
        x.append(numbers.astype("float32"))
    outputs, y = [], []
    for head in spec["heads"]:
        target = arrays[f"y_{head['name']}"]
        if head["task"] == "multilabel":
            outputs.append(ak.ClassificationHead(name=head["name"], multi_label=True))
        elif head["task"] == "classification":
            outputs.append(ak.ClassificationHead(name=head["name"]))
            target = target.astype(str)
        else:
            outputs.append(ak.RegressionHead(name=head["name"]))
            target = target.astype("float32")
            target = np.where(np.isnan(target), np.nanmedian(target[train]), target)
        y.append(target)

    keras.utils.set_random_seed(args.seed)
    directory = tempfile.mkdtemp(prefix="autokeras-", dir=args.out_dir.parent if args.out_dir.parent.is_dir() else None)
    common = dict(
        max_trials=args.trials, directory=directory, project_name=spec["name"], overwrite=True, seed=args.seed
    )
    task = task_class(ak, [type(i).__name__ for i in inputs], spec["heads"])
    if task is None:
        model = ak.AutoModel(inputs=inputs, outputs=outputs, **common)
    else:  # what a user of one input and one head calls: its tuner starts from the task's own first trials
        model = task(**({"multi_label": True} if spec["heads"][0]["task"] == "multilabel" else {}), **common)
        x, y = x[0], y[0]
    started = time.monotonic()
    model.fit(_rows(x, train), _rows(y, train), epochs=args.epochs, verbose=0)
    seconds = time.monotonic() - started
    predicted = model.predict(_rows(x, test), verbose=0)
    predicted = predicted if isinstance(predicted, list) else [predicted]

    out = {}
    for head, value in zip(spec["heads"], predicted):
        value = np.asarray(value)
        if head["task"] == "classification":
            index = np.array([int(float(v)) for v in value.reshape(-1)])
            value = np.eye(len(head["names"]))[index]
        elif head["task"] == "regression":
            value = value.reshape(-1).astype(float)
        else:
            value = value.astype(float)
        out[f"pred_{head['name']}"] = value
    args.out_dir.mkdir(parents=True, exist_ok=True)
    np.savez(args.out_dir / "predictions.npz", **out)
    result = {
        "system": "autokeras",
        "version": ak.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "seconds": round(seconds, 1),
        "trials": args.trials,
        "epochs": args.epochs,
        "seed": args.seed,
        "features": "image + joined text + numbers (no categories: AutoKeras 3.0 takes numbers only)"
        if spec["image"]
        else "joined text + numbers (no categories: AutoKeras 3.0 takes numbers only)",
        "threads": os.cpu_count(),
        "api": task.__name__ if task is not None else "AutoModel",
    }
    (args.out_dir / "result.json").write_text(json.dumps(result, indent=1))


# One input and one head: the task class a user would call (its tuner's first trials are the task's own,
# e.g. ImageClassifier's vanilla CNN; AutoModel's generic greedy tuner starts elsewhere).
TASKS = {
    ("ImageInput", "classification"): "ImageClassifier",
    ("ImageInput", "multilabel"): "ImageClassifier",
    ("ImageInput", "regression"): "ImageRegressor",
    ("TextInput", "classification"): "TextClassifier",
    ("TextInput", "multilabel"): "TextClassifier",
    ("TextInput", "regression"): "TextRegressor",
    ("StructuredDataInput", "classification"): "StructuredDataClassifier",
    ("StructuredDataInput", "regression"): "StructuredDataRegressor",
}


def task_class(ak, input_kinds: list[str], heads: list[dict]):
    """AutoKeras's task class for one input and one head (None: several, or no such task)."""
    if len(input_kinds) != 1 or len(heads) != 1:
        return None
    name = TASKS.get((input_kinds[0], heads[0]["task"]))
    return getattr(ak, name) if name else None


def _rows(values, rows):
    """`values[rows]`, or per array of a list."""
    return [v[rows] for v in values] if isinstance(values, list) else values[rows]


if __name__ == "__main__":
    main()
