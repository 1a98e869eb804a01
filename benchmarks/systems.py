"""The systems the harness compares, each turned into test-split predictions in `evaluate_task`'s form.

- `run_braid`: the library as a user calls it (`import components as ak`, AutoModel, default tuner).
- `run_classical`: `components.evaluation.classical.fit_classical`, one model per head.
- `run_peer`: AutoKeras or AutoGluon as a subprocess in its own virtualenv under benchmarks/.work/.

Every function returns a `Run`; `score` turns one into metrics with the same code for all of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.sets import WORK, BenchSet
from components.evaluation import baseline_report, evaluate_task
from components.evaluation.classical import (
    ClassicalInputs,
    best_threshold,
    fit_classical,
)

PEERS = Path(__file__).resolve().parent / "peers"
VENVS = {"autokeras": WORK / "venv-autokeras", "autogluon": WORK / "venv-autogluon"}
PRIMARY = {"multilabel": "micro_f1", "regression": "mae", "classification": "accuracy"}


@dataclass
class Run:
    """One system's test predictions per head (None when it could not run, `error` says why)."""

    system: str
    predictions: dict[str, np.ndarray] | None
    seconds: float
    thresholds: dict[str, float] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    error: str | None = None


def score(bench: BenchSet, run: Run) -> dict:
    """`{head: {"value": primary metric, ...}}` on the test rows, or `{"error": ...}`."""
    if run.predictions is None:
        return {"error": run.error, "seconds": round(run.seconds, 1), **run.info}
    heads = {}
    for head in bench.heads:
        truth = bench.targets[head.name][bench.test]
        pred = run.predictions[head.name]
        threshold = run.thresholds.get(head.name, 0.5)
        report = evaluate_task(head.task, truth, pred, thresholds=threshold if head.task == "multilabel" else None)
        entry = {"value": report.metrics[PRIMARY[head.task]]}
        if head.task == "multilabel":
            entry["threshold"] = threshold
            entry["at_0.5"] = evaluate_task("multilabel", truth, pred, thresholds=0.5).metrics["micro_f1"]
            entry["best_test_threshold"], entry["at_best_test_threshold"] = best_threshold(truth, pred)
        heads[head.name] = entry
    return {"heads": heads, "seconds": round(run.seconds, 1), **run.info}


def trivial(bench: BenchSet) -> dict:
    """The trivial baseline of every head, fitted on the train targets."""
    out = {}
    for head in bench.heads:
        report = baseline_report(head.task, bench.targets[head.name][bench.train], bench.targets[head.name][bench.test])
        out[head.name] = {"value": report.metrics[PRIMARY[head.task]], "rule": report.notes[0]}
    return out


def run_pixels_logistic(bench: BenchSet, seed: int = 0) -> Run:
    """An image-only set's classical model: logistic regression on the raw pixels (scaled to [0, 1])."""
    from sklearn.linear_model import LogisticRegression

    started = time.monotonic()
    pixels = bench.images.reshape(len(bench.images), -1).astype(float) / 255.0
    predictions = {}
    for head in bench.heads:
        model = LogisticRegression(max_iter=5000, random_state=seed).fit(pixels[bench.train],
                                                                       bench.targets[head.name][bench.train])
        predictions[head.name] = model.predict_proba(pixels[bench.test])
    return Run("classical", predictions, time.monotonic() - started,
               info={"models": {h.name: "logistic regression on raw pixels" for h in bench.heads}})


def run_classical(bench: BenchSet, seed: int = 0) -> Run:
    def inputs(rows: np.ndarray) -> ClassicalInputs:
        frame = bench.frame.iloc[rows]
        return ClassicalInputs(
            texts=[frame[c].tolist() for c in bench.text_columns],
            numbers=frame[list(bench.number_columns)].to_numpy(float) if bench.number_columns else None,
            categories=frame[list(bench.category_columns)].to_numpy(object) if bench.category_columns else None,
        )

    if bench.images is not None and not (bench.text_columns or bench.number_columns or bench.category_columns):
        return run_pixels_logistic(bench, seed)
    started = time.monotonic()
    train, test = inputs(bench.train), inputs(bench.test)
    predictions, thresholds, models = {}, {}, {}
    for head in bench.heads:
        # the numbers are log1p-scaled already (the README's features)
        fit = fit_classical(head.task, train, bench.targets[head.name][bench.train], test, seed=seed, log_numbers=False)
        predictions[head.name], models[head.name] = fit.y_pred, fit.description
        if fit.threshold is not None:
            thresholds[head.name] = fit.threshold
    return Run("classical", predictions, time.monotonic() - started, thresholds, {"models": models})


def run_braid(bench: BenchSet, seed: int, trials: int, epochs: int, workdir: Path, pretrained: bool | None = None) -> Run:
    """AutoModel on image (if any) + the joined text + the table (numbers and categories), all heads at once.

    `pretrained` is the AutoModel's (None: the frozen encoders when installed). Embeddings are cached
    beside `workdir` (in its parent), so later seeds and runs with the same parent reuse them."""
    import keras
    import pandas as pd

    import components as ak

    inputs, x = [], []
    if bench.images is not None:
        inputs.append(ak.ImageInput(name="image"))
        x.append(bench.images)
    if bench.text_columns:
        inputs.append(ak.TextInput(name="text"))
        x.append(bench.frame["text"].to_numpy(dtype=str))
    columns = list(bench.number_columns) + list(bench.category_columns)
    if columns:
        types = {**{c: "numerical" for c in bench.number_columns}, **{c: "categorical" for c in bench.category_columns}}
        inputs.append(ak.StructuredDataInput(name="table", column_names=columns, column_types=types))
        x.append(bench.frame[columns])
    outputs, y = [], []
    for head in bench.heads:
        if head.task == "regression":
            outputs.append(ak.RegressionHead(name=head.name))
        else:
            outputs.append(ak.ClassificationHead(name=head.name, multi_label=head.task == "multilabel"))
        y.append(bench.targets[head.name])

    def rows(value, index):
        return value.iloc[index].reset_index(drop=True) if isinstance(value, pd.DataFrame) else value[index]

    keras.utils.set_random_seed(seed)
    # The search lives in workdir; the AutoModel keeps embeddings beside it, in workdir.parent/_embeddings.
    model = ak.AutoModel(inputs=inputs, outputs=outputs, max_trials=trials, overwrite=True, seed=seed,
                         directory=str(workdir.parent), project_name=workdir.name, pretrained=pretrained)
    started = time.monotonic()
    model.fit([rows(v, bench.train) for v in x], [rows(v, bench.train) for v in y], epochs=epochs, verbose=0)
    seconds = time.monotonic() - started
    predicted = model.predict([rows(v, bench.test) for v in x])
    predicted = predicted if isinstance(predicted, list) else [predicted]
    predictions = {}
    for head, value in zip(bench.heads, predicted):
        value = np.asarray(value)
        if head.task == "classification":
            # predict answers labels (the class indices it was given): one-hot them for evaluate_task
            value = np.eye(len(head.names))[value.reshape(-1).astype(int)]
        elif head.task == "regression":
            value = value.reshape(-1).astype(float)
        predictions[head.name] = value.astype(float)  # multi-label: 0/1 at Braid's tuned thresholds
    info = {"seed": seed, "trials": trials, "epochs": epochs, "embedded_rows": model.embedder.computed_rows,
            "encoders": [f.encoder for f in model.embedder.frozen],
            "leaderboard": [{"score": r["score"], "status": r["status"],
                             "changed": {k: v for k, v in r["hyperparameters"].items() if "encoder" in k or "fusion" in k
                                         or k == "learning_rate"}} for r in model.leaderboard()],
            "ensemble": {head: list(map(int, picks)) for head, picks in model.ensemble_picks.items()}}
    return Run("braid" if pretrained is not False else "braid_scratch", predictions, seconds, info=info)


def run_peer(name: str, set_dir: Path, args: list[str], timeout: float = 3600) -> Run:
    """Runs benchmarks/peers/run_<name>.py in its virtualenv; a missing venv or a crash becomes `Run.error`."""
    python = VENVS[name] / "bin" / "python"
    if not python.is_file():
        return Run(name, None, 0.0, error=f"virtualenv {VENVS[name]} not built; see benchmarks/README.md")
    out_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=set_dir))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ""}
    command = ["nice", "-n", "10", str(python), str(PEERS / f"run_{name}.py"), str(set_dir), str(out_dir), *args]
    started = time.monotonic()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Run(name, None, time.monotonic() - started, error=f"timed out after {timeout:.0f} s")
    seconds = time.monotonic() - started
    if done.returncode != 0 or not (out_dir / "predictions.npz").is_file():
        last = ((done.stderr or done.stdout).strip().splitlines() or [""])[-1]
        return Run(name, None, seconds, error=f"exit {done.returncode}: {last[:300]}")
    with np.load(out_dir / "predictions.npz") as stored:
        predictions = {key[len("pred_"):]: stored[key] for key in stored.files}
    info = json.loads((out_dir / "result.json").read_text())
    info["wall_seconds_with_startup"] = round(seconds, 1)
    return Run(name, predictions, float(info.get("seconds", seconds)), info=info)
