"""The systems the harness compares, each turned into test-split predictions in `evaluate_task`'s form.

- `run_braid`: the library as a user calls it (`import components as ak`, AutoModel, default tuner).
- `run_classical`: `components.evaluation.classical.fit_classical`, one model per head.
- `run_linear_probe`: logistic / ridge regression on Braid's frozen encoder features (+ the table).
- `run_peer`: AutoKeras or AutoGluon as a subprocess in its own virtualenv under benchmarks/.work/.

Every function returns a `Run`; `score` turns one into metrics with the same code for all of them.
A head's rows with an unknown target (NaN regression values) are left out of its training and score.
"""

from __future__ import annotations

import json
import os
import statistics
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
from components.features.timeseries import summary_features

PEERS = Path(__file__).resolve().parent / "peers"
VENVS = {"autokeras": WORK / "venv-autokeras", "autogluon": WORK / "venv-autogluon"}
# Braid's search keeps its frozen embeddings here (see `braid_over_seeds`); the linear probe reads them
EMBEDDINGS = WORK / "braid" / "_embeddings"


@dataclass
class Run:
    """One system's test predictions per head (None when it could not run, `error` says why)."""

    system: str
    predictions: dict[str, np.ndarray] | None
    seconds: float
    thresholds: dict[str, float] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    error: str | None = None
    # Braid's network alone (`export_model()`), beside `predictions` (what `predict` serves per head)
    network: dict[str, np.ndarray] | None = None


def score(bench: BenchSet, run: Run) -> dict:
    """`{head: {"value": primary metric, ...}}` on the test rows, or `{"error": ...}`."""
    if run.predictions is None:
        return {"error": run.error, "seconds": round(run.seconds, 1), **run.info}
    heads = {}
    for head in bench.heads:
        known = np.isin(bench.test, bench.known(head, bench.test))
        truth = bench.targets[head.name][bench.test][known]
        pred = np.asarray(run.predictions[head.name])[known]
        threshold = run.thresholds.get(head.name, 0.5)
        report = evaluate_task(head.task, truth, pred, thresholds=threshold if head.task == "multilabel" else None)
        entry = {"value": report.metrics[head.primary]}
        if head.task == "classification":
            entry.update(accuracy=report.metrics["accuracy"], macro_f1=report.metrics["macro_f1"])
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
        train, test = bench.known(head, bench.train), bench.known(head, bench.test)
        classes = head.names if head.task == "classification" else None
        report = baseline_report(
            head.task, bench.targets[head.name][train], bench.targets[head.name][test], classes=classes
        )
        out[head.name] = {"value": report.metrics[head.primary], "rule": report.notes[0]}
    return out


def run_pixels_logistic(bench: BenchSet, seed: int = 0) -> Run:
    """An image-only set's classical model: logistic regression on the raw pixels (scaled to [0, 1])."""
    from sklearn.linear_model import LogisticRegression

    started = time.monotonic()
    pixels = bench.images.reshape(len(bench.images), -1).astype(float) / 255.0
    predictions = {}
    for head in bench.heads:
        model = LogisticRegression(max_iter=5000, random_state=seed).fit(
            pixels[bench.train], bench.targets[head.name][bench.train]
        )
        predictions[head.name] = model.predict_proba(pixels[bench.test])
    return Run(
        "classical",
        predictions,
        time.monotonic() - started,
        info={"models": {h.name: "logistic regression on raw pixels" for h in bench.heads}},
    )


def _classical_inputs(bench: BenchSet, rows: np.ndarray, texts: bool = True) -> ClassicalInputs:
    frame = bench.frame.iloc[rows]
    numbers = [frame[list(bench.number_columns)].to_numpy(float)] if bench.number_columns else []
    if bench.series is not None:  # the pipeline's classical model reads a series column as its summary numbers
        numbers.append(summary_features(bench.series[rows], bench.series[0].shape[1]))
    return ClassicalInputs(
        texts=[frame[c].tolist() for c in bench.text_columns] if texts else (),
        numbers=np.hstack(numbers) if numbers else None,
        categories=frame[list(bench.category_columns)].to_numpy(object) if bench.category_columns else None,
    )


def run_classical(bench: BenchSet, seed: int = 0) -> Run:
    if bench.only_images():
        return run_pixels_logistic(bench, seed)
    started = time.monotonic()
    test = _classical_inputs(bench, bench.test)
    predictions, thresholds, models = {}, {}, {}
    for head in bench.heads:
        rows = bench.known(head, bench.train)
        # the numbers are log1p-scaled already (the README's features)
        fit = fit_classical(
            head.task,
            _classical_inputs(bench, rows),
            bench.targets[head.name][rows],
            test,
            seed=seed,
            log_numbers=False,
        )
        predictions[head.name], models[head.name] = fit.y_pred, fit.description
        if fit.threshold is not None:
            thresholds[head.name] = fit.threshold
    return Run("classical", predictions, time.monotonic() - started, thresholds, {"models": models})


def classical_labels(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, seed: int, log_numbers: bool = True):
    """The classical classifier's predicted labels for test, from summary numbers `[N, D]` per row (the
    pipeline's model of a series or an audio column)."""
    classes, index = np.unique(y_train, return_inverse=True)
    fit = fit_classical(
        "classification",
        ClassicalInputs(numbers=train),
        index,
        ClassicalInputs(numbers=test),
        seed=seed,
        log_numbers=log_numbers,
    )
    return classes[fit.y_pred.argmax(axis=1)]


def run_braid(
    bench: BenchSet,
    seed: int,
    trials: int,
    epochs: int,
    workdir: Path,
    pretrained: bool | None = None,
    portfolio: list | None = None,
    head_models: str = "auto",
) -> Run:
    """AutoModel on image (if any) + the joined text + the table (numbers and categories), all heads at once.

    `pretrained`, `portfolio` and `head_models` are the AutoModel's (None: the frozen encoders when
    installed, the portfolio chosen for the data; "auto": per head the network, gradient boosting or their
    blend). The Run's `network` holds the network alone's predictions. Embeddings are cached
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
    if bench.series is not None:
        inputs.append(ak.TimeseriesInput(name="series"))
        x.append(bench.series)
    columns = list(bench.number_columns) + list(bench.category_columns) + list(bench.date_columns)
    if columns:
        types = {**{c: "numerical" for c in bench.number_columns}, **{c: "categorical" for c in bench.category_columns}}
        types.update({c: "datetime" for c in bench.date_columns})
        inputs.append(ak.StructuredDataInput(name="table", column_names=columns, column_types=types))
        x.append(bench.frame[columns])
    outputs, y = [], []
    for head in bench.heads:
        if head.task == "regression":
            # unknown targets (NaN) add nothing to the loss instead of failing the fit
            missing = bool(np.isnan(bench.targets[head.name][bench.train]).any())
            outputs.append(ak.RegressionHead(name=head.name, mask_missing=missing))
        else:
            outputs.append(ak.ClassificationHead(name=head.name, multi_label=head.task == "multilabel"))
        y.append(bench.targets[head.name])

    def rows(value, index):
        return value.iloc[index].reset_index(drop=True) if isinstance(value, pd.DataFrame) else value[index]

    keras.utils.set_random_seed(seed)
    # The search lives in workdir; the AutoModel keeps embeddings beside it, in workdir.parent/_embeddings.
    model = ak.AutoModel(
        inputs=inputs,
        outputs=outputs,
        max_trials=trials,
        overwrite=True,
        seed=seed,
        directory=str(workdir.parent),
        project_name=workdir.name,
        pretrained=pretrained,
        portfolio=portfolio,
        head_models=head_models,
    )
    started = time.monotonic()
    model.fit([rows(v, bench.train) for v in x], [rows(v, bench.train) for v in y], epochs=epochs, verbose=0)
    seconds = time.monotonic() - started
    test_x = [rows(v, bench.test) for v in x]
    predicted = model.predict(test_x)
    network = model.export_model().predict(model.model_inputs(test_x), verbose=0)
    network = [
        h.decode(np.asarray(out)) for h, out in zip(model.heads, network if isinstance(network, list) else [network])
    ]
    info = {
        "seed": seed,
        "trials": trials,
        "epochs": epochs,
        "embedded_rows": model.embedder.computed_rows,
        "encoders": [f.encoder for f in model.embedder.frozen],
        "leaderboard": [
            {
                "score": r["score"],
                "status": r["status"],
                "changed": {
                    k: v
                    for k, v in r["hyperparameters"].items()
                    if "encoder" in k or "fusion" in k or k == "learning_rate"
                },
            }
            for r in model.leaderboard()
        ],
        "ensemble": {head: list(map(int, picks)) for head, picks in model.ensemble_picks.items()},
        "head_choices": {head: choice.explain() for head, choice in model.head_choices.items()},
    }
    name = "braid" if pretrained is not False else "braid_scratch"
    return Run(name, _evaluated(bench, predicted), seconds, info=info, network=_evaluated(bench, network))


def _evaluated(bench: BenchSet, predicted) -> dict[str, np.ndarray]:
    """What `AutoModel.predict` answers (labels, values) in `evaluate_task`'s form, per head."""
    predictions = {}
    for head, value in zip(bench.heads, predicted if isinstance(predicted, list) else [predicted]):
        value = np.asarray(value)
        if head.task == "classification":
            # predict answers labels (the class indices it was given): one-hot them for evaluate_task
            value = np.eye(len(head.names))[value.reshape(-1).astype(int)]
        elif head.task == "regression":
            value = value.reshape(-1).astype(float)
        predictions[head.name] = value.astype(float)  # multi-label: 0/1 at Braid's tuned thresholds
    return predictions


def run_linear_probe(bench: BenchSet, seed: int = 0) -> Run:
    """A linear model per head on Braid's frozen encoder features: EfficientNet-Lite0 of the image, MiniLM of
    the joined text (each block centred and divided by its overall spread), beside the table as the classical model's linear features see it
    (standardised numbers with missing flags, one-hot categories).

    Classification and multi-label: logistic regression, C in (0.01, 0.1, 1) chosen on 20% of train (with the
    multi-label threshold), then refitted on all of train; regression: ridge, alpha by leave-one-out. The
    embeddings are read from (or written to) the cache Braid's searches use, keyed by the same arrays Braid
    embeds (train rows, then test rows), so a probe after Braid embeds nothing again."""
    encoders = (["efficientnet_lite0"] if bench.images is not None else []) + (["minilm"] if bench.text_columns else [])
    if not encoders:
        return Run("linear_probe", None, 0.0, error="not applicable: no image or text, so no frozen encoder")
    from components.encoders import missing_packages

    missing = sorted({p for e in encoders for p in missing_packages(e)})
    if missing:
        return Run("linear_probe", None, 0.0, error=f"not installed: {', '.join(missing)} (braid[pretrained])")
    started = time.monotonic()
    x_train, x_test, parts, embedded = _probe_features(bench)
    predictions, thresholds, models = {}, {}, {}
    for head in bench.heads:
        known = np.isin(bench.train, bench.known(head, bench.train))
        fit = _probe_head(head, x_train[known], bench.targets[head.name][bench.train][known], x_test, seed)
        predictions[head.name], models[head.name] = fit[0], f"{fit[2]} on {parts}"
        if fit[1] is not None:
            thresholds[head.name] = fit[1]
    # `embedded_rows`: rows run through an encoder here (0 when Braid's search had cached them all)
    return Run(
        "linear_probe",
        predictions,
        time.monotonic() - started,
        thresholds,
        {"models": models, "embedded_rows": embedded},
    )


def _probe_features(bench: BenchSet) -> tuple[np.ndarray, np.ndarray, str, int]:
    import components as ak
    from components.automl.frozen import Embedder, Frozen
    from components.evaluation.classical import _LinearFeatures

    embedder = Embedder([], EMBEDDINGS)
    blocks, parts = {"train": [], "test": []}, []
    sources = []
    if bench.images is not None:
        sources.append(
            (
                Frozen(ak.ImageInput(name="image"), "efficientnet_lite0", None),
                lambda rows: bench.images[rows],
                "EfficientNet-Lite0 features",
            )
        )
    if bench.text_columns:
        # the array Braid's TextInput adapter makes (its dtype is part of the cache key)
        sources.append(
            (
                Frozen(ak.TextInput(name="text"), "minilm", None),
                lambda rows: np.asarray([str(v) for v in bench.frame["text"].iloc[rows]], dtype=str),
                "MiniLM embeddings",
            )
        )
    for item, values, name in sources:
        train, test = embedder.embed(item, values(bench.train)), embedder.embed(item, values(bench.test))
        # one scale per block, not per feature: EfficientNet's ReLU6 features are often near-constant on
        # train, and dividing each by its own tiny spread blew test rows up (demo score MAE 1.02 against the
        # trivial 0.88; digits accuracy 0.947 -> 0.961 with one scale)
        center, spread = train.mean(axis=0), train.std() or 1.0
        blocks["train"].append((train - center) / spread)
        blocks["test"].append((test - center) / spread)
        parts.append(name)
    if bench.number_columns or bench.category_columns:
        table = _LinearFeatures(log_numbers=False)
        blocks["train"].append(table.fit(_classical_inputs(bench, bench.train, texts=False)).toarray())
        blocks["test"].append(table.transform(_classical_inputs(bench, bench.test, texts=False)).toarray())
        parts.append(table.describe())
    return np.hstack(blocks["train"]), np.hstack(blocks["test"]), " + ".join(parts), embedder.computed_rows


def _probe_head(head, x: np.ndarray, y: np.ndarray, x_test: np.ndarray, seed: int):
    """(test predictions, multi-label threshold or None, the model in words) for one head."""
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.multiclass import OneVsRestClassifier

    if head.task == "regression":
        model = RidgeCV(alphas=np.logspace(-2, 4, 7)).fit(x, y)
        return model.predict(x_test), None, f"ridge regression (alpha {model.alpha_:g}, leave-one-out)"

    def fitted(c: float, rows: np.ndarray):
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        model = OneVsRestClassifier(model) if head.task == "multilabel" else model
        return model.fit(x[rows], y[rows])

    def proba(model, features: np.ndarray) -> np.ndarray:
        if head.task == "multilabel":
            return model.predict_proba(features)
        out = np.zeros((len(features), len(head.names)))  # classes absent from the fit part get 0
        out[:, model.classes_] = model.predict_proba(features)
        return out

    order = np.random.default_rng(seed).permutation(len(y))
    val, rest = order[: len(y) // 5], order[len(y) // 5 :]
    choices = {}
    for c in (0.01, 0.1, 1.0):
        p = proba(fitted(c, rest), x[val])
        if head.task == "multilabel":
            choices[c] = best_threshold(y[val], p)[::-1]  # (micro-F1, threshold)
        else:
            choices[c] = (evaluate_task(head.task, y[val], p).metrics[head.primary], None)
    c = max(choices, key=lambda k: choices[k][0])
    threshold = choices[c][1]
    kind = "one-vs-rest logistic regression" if head.task == "multilabel" else "logistic regression"
    return proba(fitted(c, np.arange(len(y))), x_test), threshold, f"{kind} (C={c:g} chosen on 20% of train)"


def braid_over_seeds(
    bench: BenchSet, seeds: list[int], trials: int, epochs: int, pretrained: bool | None = None
) -> dict:
    """Scores per seed, then the median, min and max of each head's primary metric.

    Searches run in temporary folders under benchmarks/.work/braid, whose _embeddings/ keeps the
    embeddings: the first seed of the first run computes them (its `seconds` include that), later ones
    read them, as a user's later runs would."""
    per_seed = {}
    EMBEDDINGS.parent.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix="search-", dir=EMBEDDINGS.parent) as workdir:
            run = run_braid(bench, seed, trials, epochs, Path(workdir), pretrained)
        per_seed[str(seed)] = score(bench, run)
        print(f"  braid seed {seed}: {summary(per_seed[str(seed)])}", flush=True)
    heads = {h.name: [s["heads"][h.name]["value"] for s in per_seed.values()] for h in bench.heads}
    return {
        "heads": {k: {"value": statistics.median(v)} for k, v in heads.items()},
        "min": {k: min(v) for k, v in heads.items()},
        "max": {k: max(v) for k, v in heads.items()},
        "seconds": statistics.median(s["seconds"] for s in per_seed.values()),
        "per_seed": per_seed,
    }


def summary(result: dict) -> str:
    """One line of a scored run: each head's primary metric and the seconds, or why it did not run."""
    if "heads" not in result:
        return f"failed: {result.get('error')}"
    return ", ".join(f"{k} {v['value']:.3f}" for k, v in result["heads"].items()) + f" ({result['seconds']:.0f} s)"


def peer_built(name: str) -> bool:
    """Whether the peer's virtualenv (benchmarks/peers/make_venvs.sh) exists."""
    return (VENVS[name] / "bin" / "python").is_file()


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
        predictions = {key[len("pred_") :]: stored[key] for key in stored.files}
    info = json.loads((out_dir / "result.json").read_text())
    info["wall_seconds_with_startup"] = round(seconds, 1)
    return Run(name, predictions, float(info.get("seconds", seconds)), info=info)
