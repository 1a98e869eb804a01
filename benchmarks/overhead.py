"""Braid's overhead on a small search: the seed tutorial through AutoModel against a bare keras-tuner script.

Run by hand (not by tests):
    nice -n 0 python -m benchmarks.overhead [--rows 100] [--trials 2] [--epochs 2] [--runs 3]
Writes benchmarks/results/overhead.json.

The seed tutorial is AutoKeras's multi-modal, multi-task example on random data: 32x32x3 images and 20
numeric columns → a regression head and a 5-class classification head, `max_trials=2`, `epochs=2`, the
last fifth of the rows for validation. Arm `braid` runs it as a user would: `ak.AutoModel(inputs=[ImageInput(),
StructuredDataInput()], outputs=[RegressionHead(), ClassificationHead()], max_trials=2)` with every other
argument left at its default (greedy tuner, ensemble of up to 3, refit, frozen pretrained encoders when the
extra is installed) and a fresh `directory` per run, so no embedding cache helps. Arm `keras_tuner` is the
same search written by hand: a `kt.HyperModel` with an equivalent small CNN on the images (normalisation,
two 3x3 convolution blocks, global average pooling) and a dense branch on the columns, concatenated, two
heads; `RandomSearch` of 2 trials x 2 epochs over the learning rate and the filters; the best model loaded.
Both arms end with a prediction on every row. A third arm, `braid_search_only`, is `braid` with `refit=False,
ensemble_size=1`: it splits Braid's extra time between its machinery and the extra training it chooses to do.

Each run is a fresh Python process (`python -m benchmarks.overhead --child ARM DIR`), so imports, encoder
loading and graph tracing all count; the figure is that process's wall time, measured by the parent.
The child also reports its import time and its search time. The arms alternate (braid, keras_tuner,
braid, ...) after one untimed warm-up run of each (file-system caches; the one-time conversion of the
encoder weights into the Braid home, which `benchmarks/.work/overhead/home` keeps between runs). The
machine is shared: `uptime`'s load is recorded before and after; the ratio of medians is what counts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from components.settings import TELEMETRY_OFF

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "overhead.json"
HOME = ROOT / "benchmarks" / ".work" / "overhead" / "home"
ARMS = ("braid", "keras_tuner", "braid_search_only")
SEARCH_ONLY = {"refit": False, "ensemble_size": 1}


def tutorial_data(rows: int, seed: int = 0):
    """The seed tutorial's random data (tests/components/automl/test_auto_model.py: `tutorial_data`)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.random((rows, 32, 32, 3)).astype(np.float32)
    table = rng.random((rows, 20)).astype(np.float32)
    scores = rng.random((rows, 1)).astype(np.float32)
    labels = rng.integers(5, size=(rows, 1))
    return images, table, scores, labels


def run_braid(folder: Path, rows: int, trials: int, epochs: int, **options) -> dict:
    started = time.perf_counter()
    import components as ak
    import components.automl.auto_model  # noqa: F401  (the package imports lazily; count the import here)

    imported = time.perf_counter()
    images, table, scores, labels = tutorial_data(rows)
    model = ak.AutoModel(
        inputs=[ak.ImageInput(), ak.StructuredDataInput()],
        outputs=[ak.RegressionHead(), ak.ClassificationHead()],
        max_trials=trials,
        directory=folder,
        overwrite=True,
        **options,
    )
    model.fit([images, table], [scores, labels], epochs=epochs, verbose=0)
    model.predict([images, table])
    return {
        "import_s": imported - started,
        "search_s": time.perf_counter() - imported,
        "embedded_rows": model.embedder.computed_rows,
        "frozen_inputs": [item.vector.name for item in model.graph.frozen],
        "trials": len(model.leaderboard()),
    }


class TutorialHyperModel:
    """The tutorial's search written for keras-tuner alone (the class is made once keras_tuner is imported)."""

    @staticmethod
    def make():
        import keras
        import keras_tuner as kt

        class HyperModel(kt.HyperModel):
            def __init__(self, images, table):
                super().__init__()
                # statistics fitted once, as Braid's input nodes fit theirs
                self.pixels = images.reshape(-1, 3).mean(0), images.reshape(-1, 3).var(0)
                self.columns = table.mean(0), table.var(0)

            def build(self, hp):
                image = keras.Input((32, 32, 3), name="image")
                columns = keras.Input((20,), name="table")
                x = keras.layers.Normalization(mean=self.pixels[0], variance=self.pixels[1])(image)
                filters = hp.Choice("filters", [16, 32])
                for _ in range(2):
                    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
                    x = keras.layers.MaxPooling2D()(x)
                x = keras.layers.GlobalAveragePooling2D()(x)
                t = keras.layers.Normalization(mean=self.columns[0], variance=self.columns[1])(columns)
                t = keras.layers.Dense(64, activation="relu")(t)
                merged = keras.layers.Concatenate()([x, t])
                score = keras.layers.Dense(1, name="score")(merged)
                label = keras.layers.Dense(5, activation="softmax", name="label")(merged)
                model = keras.Model([image, columns], [score, label])
                rate = hp.Choice("learning_rate", [1e-2, 3e-3, 1e-3])
                model.compile(
                    optimizer=keras.optimizers.Adam(rate),
                    loss={"score": "mse", "label": "sparse_categorical_crossentropy"},
                    metrics={"score": ["mae"], "label": ["accuracy"]},
                )
                return model

        return HyperModel


def run_keras_tuner(folder: Path, rows: int, trials: int, epochs: int) -> dict:
    started = time.perf_counter()
    import keras_tuner as kt

    imported = time.perf_counter()
    images, table, scores, labels = tutorial_data(rows)
    held = int(round(rows * 0.2))
    train, val = slice(0, rows - held), slice(rows - held, rows)
    hypermodel = TutorialHyperModel.make()(images[train], table[train])
    tuner = kt.RandomSearch(
        hypermodel,
        objective="val_loss",
        max_trials=trials,
        seed=0,
        directory=str(folder),
        project_name="tutorial",
        overwrite=True,
    )
    tuner.search(
        [images[train], table[train]],
        [scores[train], labels[train]],
        epochs=epochs,
        batch_size=32,
        validation_data=([images[val], table[val]], [scores[val], labels[val]]),
        verbose=0,
    )
    best = tuner.get_best_models(1)[0]
    best.predict([images, table], verbose=0)
    return {
        "import_s": imported - started,
        "search_s": time.perf_counter() - imported,
        "trials": len(tuner.oracle.trials),
    }


def child(arm: str, folder: Path, rows: int, trials: int, epochs: int) -> None:
    if arm == "keras_tuner":
        result = run_keras_tuner(folder, rows, trials, epochs)
    else:  # braid_search_only: what Braid does beyond keras-tuner besides the ensemble and the refit
        result = run_braid(folder, rows, trials, epochs, **({} if arm == "braid" else SEARCH_ONLY))
    print("RESULT " + json.dumps(result), flush=True)


def environment() -> dict:
    return {
        **os.environ,
        "BRAID_HOME": str(HOME),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": str(ROOT),
        **TELEMETRY_OFF,
        "PYTHONHASHSEED": "0",
    }


def timed(arm: str, rows: int, trials: int, epochs: int) -> dict:
    """One fresh process: its wall time and what it reports."""
    with tempfile.TemporaryDirectory(prefix=f"overhead_{arm}_") as folder:
        command = [
            sys.executable,
            "-m",
            "benchmarks.overhead",
            "--child",
            arm,
            folder,
            "--rows",
            str(rows),
            "--trials",
            str(trials),
            "--epochs",
            str(epochs),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True, text=True)
        wall = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{arm} run failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return {
        "wall_s": round(wall, 2),
        "load_1min": round(os.getloadavg()[0], 1),  # at the end of the run: the shared cores' state
        **{k: round(v, 2) if isinstance(v, float) else v for k, v in json.loads(lines[-1][len("RESULT ") :]).items()},
    }


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("ARM", "DIR"))
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--label", default="", help="a note stored with the figures (e.g. the commit)")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.rows, args.trials, args.epochs)
        return
    HOME.mkdir(parents=True, exist_ok=True)
    load_before = load()
    for arm in ARMS[:2]:  # untimed warm-up
        timed(arm, args.rows, args.trials, args.epochs)
    runs: dict[str, list[dict]] = {arm: [] for arm in ARMS}
    for repeat in range(args.runs):
        for arm in ARMS:
            runs[arm].append(timed(arm, args.rows, args.trials, args.epochs))
            print(repeat, arm, runs[arm][-1], flush=True)
    medians = {
        arm: {key: round(statistics.median(r[key] for r in runs[arm]), 2) for key in ("wall_s", "import_s", "search_s")}
        for arm in ARMS
    }
    result = {
        "label": args.label,
        "rows": args.rows,
        "trials": args.trials,
        "epochs": args.epochs,
        "load_before": load_before,
        "load_after": load(),
        "runs": runs,
        "medians": medians,
        "ratio_wall": round(medians["braid"]["wall_s"] / medians["keras_tuner"]["wall_s"], 2),
        "ratio_wall_search_only": round(medians["braid_search_only"]["wall_s"] / medians["keras_tuner"]["wall_s"], 2),
        "ratio_search": round(medians["braid"]["search_s"] / medians["keras_tuner"]["search_s"], 2),
        "paired_ratios": [round(b["wall_s"] / k["wall_s"], 2) for b, k in zip(runs["braid"], runs["keras_tuner"])],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    history = previous.get("history", [])
    if previous.get("medians"):
        history.append(
            {k: previous[k] for k in ("label", "medians", "ratio_wall", "ratio_search", "load_before") if k in previous}
        )
    RESULTS.write_text(json.dumps({**result, "history": history}, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: result[k]
                for k in ("medians", "ratio_wall", "ratio_wall_search_only", "ratio_search", "paired_ratios")
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
