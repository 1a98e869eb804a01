"""Preprocessing benchmark: throughput, peak memory, image-stage scaling and tf.data input wait.

Run by hand (not by tests), ideally under `nice`:
    python -m benchmarks.preprocess_bench [--sizes 10000 100000] [--runs 3]
Writes benchmarks/results/preprocess.json; benchmarks/README.md explains each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
RESULTS = ROOT / "benchmarks" / "results" / "preprocess.json"
ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "", "DO_NOT_TRACK": "1"}


def demo_dir(rows: int) -> Path:
    """Demo data with `rows` rows and 32x32 images, written once and kept under benchmarks/.work."""
    from components.data.demo import write_demo_data

    directory = WORK / f"demo-{rows}"
    if not (directory / "demo.csv").is_file():
        write_demo_data(directory, n_rows=rows, seed=0, image_size=32)
    return directory


def demo_contract(directory: Path, image_size=(32, 32)):
    from components.data.contract import load_contract

    contract = load_contract(ROOT / "data_contracts" / "demo.yaml")
    source = contract.source.model_copy(update={"path": directory / "demo.csv", "image_root": directory / "images"})
    features = [
        f.model_copy(update={"image_size": image_size}) if f.modality == "image" else f for f in contract.features
    ]
    return contract.model_copy(update={"source": source, "features": features})


def input_bytes(directory: Path) -> int:
    return (directory / "demo.csv").stat().st_size + sum(p.stat().st_size for p in (directory / "images").iterdir())


def child(rows: int, executor_kind: str, workers: int) -> dict:
    """One preprocessing run in this (fresh) process; peak RSS comes from ru_maxrss."""
    from components.data.preprocess import preprocess
    from components.layout import Layout

    directory = demo_dir(rows)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(dir=WORK) as out:
        started = time.perf_counter()
        result = preprocess(demo_contract(directory), Layout(Path(out)), data_hash="bench", workers=workers,
                            executor_kind=executor_kind)  # fmt: skip
        seconds = time.perf_counter() - started
        written = sum(s.bytes for s in result.manifest.shards)
    return {
        "rows": sum(result.manifest.rows.values()),
        "seconds": seconds,
        "input_mb": input_bytes(directory) / 1e6,
        "output_mb": written / 1e6,
        "rss_after_imports_mb": rss_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(rows: int, executor_kind: str = "thread", workers: int = 2) -> dict:
    command = [sys.executable, "-m", "benchmarks.preprocess_bench", "--child", str(rows), executor_kind, str(workers)]
    out = subprocess.run(command, cwd=ROOT, env={**os.environ, **ENV}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def preprocessing(sizes: list[int], runs: int) -> dict:
    results = {}
    for rows in sizes:
        demo_dir(rows)
        samples = [run_child(rows) for _ in range(runs)]
        seconds = statistics.median(s["seconds"] for s in samples)
        results[str(rows)] = {
            "runs": runs,
            "seconds_median": round(seconds, 2),
            "rows_per_s": round(rows / seconds),
            "input_mb_per_s": round(samples[0]["input_mb"] / seconds, 2),
            "input_mb": round(samples[0]["input_mb"], 1),
            "output_mb": round(samples[0]["output_mb"], 1),
            "peak_rss_mb_median": round(statistics.median(s["peak_rss_mb"] for s in samples), 1),
            "rss_after_imports_mb": round(samples[0]["rss_after_imports_mb"], 1),
            "seconds_all": [round(s["seconds"], 2) for s in samples],
        }
        print(rows, results[str(rows)], flush=True)
    if len(sizes) >= 2:
        small, large = results[str(min(sizes))], results[str(max(sizes))]
        results["rss_ratio_large_to_small"] = round(large["peak_rss_mb_median"] / small["peak_rss_mb_median"], 3)
    return results


def _bare(paths: list[Path], size: tuple[int, int]) -> None:
    import numpy as np
    from PIL import Image

    for path in paths:
        with Image.open(path) as img:
            np.asarray(img.convert("RGB").resize(size, Image.Resampling.BILINEAR))


def image_stage(rows: int, runs: int) -> dict:
    """Images/s of the image codec's encode (read, decode, resize, PNG re-encode) vs a bare Pillow loop
    (read, decode, resize) on one core. Target 24x24 so that resizing happens."""
    import pandas as pd

    from components.data.contract import feature_spec
    from components.data.modalities import TransformContext, codec_for

    directory = demo_dir(rows)
    names = pd.read_csv(directory / "demo.csv", usecols=["image"])["image"]
    paths = [directory / "images" / n for n in names]
    spec = feature_spec(name="image", modality="image", image_size=(24, 24))
    codec = codec_for(spec)

    def timed(fn) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return len(paths) / statistics.median(times)

    def pipeline(executor) -> float:
        ctx = TransformContext(image_root=directory / "images", executor=executor)
        return timed(lambda: codec.encode(spec, {}, names, ctx))

    bare = timed(lambda: _bare(paths, (24, 24)))
    inline = pipeline(None)
    with ThreadPoolExecutor(2) as pool:
        threads = pipeline(pool)
    with ProcessPoolExecutor(2) as pool:
        processes = pipeline(pool)
    best = max(threads, processes)
    return {
        "images": len(paths),
        "bare_pillow_1_core_per_s": round(bare),
        "pipeline_inline_per_s": round(inline),
        "pipeline_2_threads_per_s": round(threads),
        "pipeline_2_processes_per_s": round(processes),
        "per_core_efficiency_threads": round(threads / 2 / bare, 3),
        "per_core_efficiency_processes": round(processes / 2 / bare, 3),
        "per_core_efficiency_best": round(best / 2 / bare, 3),
    }


def reader_wait(rows: int, steps: int = 200) -> dict:
    """Fraction of each training step spent waiting for the next batch, feeding a small Keras model."""
    import keras

    from components.data.preprocess import preprocess
    from components.data.records import make_dataset
    from components.layout import Layout

    with tempfile.TemporaryDirectory(dir=WORK) as out:
        result = preprocess(demo_contract(demo_dir(rows)), Layout(Path(out)), data_hash="reader")
        dataset = make_dataset(result.directory, "train", batch_size=64, shuffle=True, repeat=True)
        dataset = dataset.map(lambda x, y: ({"image": x["image"], "tabular": x["tabular"]}, y["kind"]))
        image = keras.Input((32, 32, 3), name="image", dtype="uint8")
        tabular = keras.Input((len(result.state.tabular_columns()),), name="tabular")
        h = keras.layers.Rescaling(1 / 255)(image)
        h = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(h)
        h = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(h)
        h = keras.layers.GlobalAveragePooling2D()(h)
        h = keras.layers.Concatenate()([h, keras.layers.Dense(32, activation="relu")(tabular)])
        model = keras.Model([image, tabular], keras.layers.Dense(4, activation="softmax")(h))
        model.compile("adam", "sparse_categorical_crossentropy")
        # The same steps fed from one batch held in memory cost no input time: the difference is
        # the time the model waits for the reader.
        in_memory = dataset.take(1).cache().repeat()

        def fit_seconds(data) -> float:
            started = time.perf_counter()
            model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
            return time.perf_counter() - started

        fit_seconds(dataset), fit_seconds(in_memory)  # warm up: tracing, autotune
        real = statistics.median(fit_seconds(dataset) for _ in range(3))
        ideal = statistics.median(fit_seconds(in_memory) for _ in range(3))
    return {
        "steps": steps,
        "batch_size": 64,
        "step_ms_from_shards": round(1000 * real / steps, 2),
        "step_ms_from_memory": round(1000 * ideal / steps, 2),
        "input_wait_fraction": round(max(0.0, (real - ideal) / real), 4),
        "model": "2 conv + dense on image (32x32) and tabular, 4-class head; model.fit, medians of 3",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("ROWS", "EXECUTOR", "WORKERS"))
    args = parser.parse_args()
    if args.child:
        rows, kind, workers = args.child
        print(json.dumps(child(int(rows), kind, int(workers))))
        return
    os.environ.update(ENV)
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "preprocess": preprocessing(args.sizes, args.runs),
    }
    report["image_stage"] = image_stage(min(args.sizes), args.runs)
    print(report["image_stage"], flush=True)
    report["reader"] = reader_wait(min(args.sizes))
    print(report["reader"], flush=True)
    report["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
