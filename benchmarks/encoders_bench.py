"""Pretrained-encoder throughput on this machine: MiniLM text rows/s and EfficientNet-Lite0 images/s.

Run by hand (not by tests):
    python -m benchmarks.encoders_bench [--texts 1000] [--images 1024] [--parts text_paths text images cache]
Writes benchmarks/results/encoders.json (the parts not run keep their earlier figures), with the
library's embedding cache: an AutoModel fit on the texts twice, the second run reading the first one's
embeddings, and `text_paths`: the frozen MiniLM graph `embed_texts` runs against the Keras model it
replaced, in the same process, runs interleaved. Texts are movie overviews from shared/datasets when present
(about 55 words each), else generated 60-word texts; images are random uint8 pixels (speed does not
depend on content). Load times are measured separately from the warm embedding passes; the
`_idle_estimate` figures divide by CPU time instead of wall time, for a machine shared with other work.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.sets import datasets_root

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "encoders.json"
MOVIES = datasets_root() / "movies" / "movies_metadata.csv"


def sample_texts(count: int) -> list[str]:
    if MOVIES.is_file():
        import pandas as pd

        overviews = pd.read_csv(MOVIES, usecols=["overview"], low_memory=False)["overview"].dropna()
        overviews = overviews[overviews.str.split().str.len() >= 20]
        if len(overviews) >= count:
            return overviews.sample(count, random_state=0).tolist()
    rng = np.random.default_rng(0)
    words = "the a young man woman city war love family secret journey finds must save world night".split()
    return [" ".join(rng.choice(words, 60)) for _ in range(count)]


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def throughput(results: dict, key: str, rows: int, function, *args, **kwargs) -> None:
    """Rows/s by wall clock, and by CPU time spread over the machine's cores: on a shared machine the
    second says what an idle one would do (TensorFlow keeps both cores busy on these models)."""
    cpu_start = time.process_time()
    seconds, _ = timed(function, *args, **kwargs)
    results[f"{key}_rows_per_s"] = rows / seconds
    results[f"{key}_rows_per_s_idle_estimate"] = rows / ((time.process_time() - cpu_start) / os.cpu_count())


def text_paths(texts: list[str], batch_size: int, runs: int) -> dict:
    """Frozen MiniLM, texts/s of the Keras model (`_embed_texts_keras`, the path before issue 24) against the
    graph `embed_texts` runs (bfloat16 matmuls where the CPU has them) and the same graph in float32,
    interleaved in one process so they share the machine's load; medians of `runs`, and the lowest cosine
    between each path's vectors and the Keras model's. The first run of each also pays for shapes not yet
    seen (Keras retraces per batch length; the graph prepares oneDNN primitives per bucket)."""
    from components.encoders.frozen_text import FrozenMiniLM
    from components.encoders.text import _embed_texts_keras, _frozen_encoder, _frozen_graph

    load_s, graph = timed(_frozen_graph, 128)
    paths = {
        "keras": lambda values: _embed_texts_keras(values, batch_size=batch_size),
        "graph": lambda values: graph(values, batch_size=batch_size),
    }
    if graph.bfloat16:
        float32 = FrozenMiniLM(_frozen_encoder(128), bfloat16=False)
        paths["graph_float32"] = lambda values: float32(values, batch_size=batch_size)
    out: dict = {
        "texts": len(texts),
        "runs": runs,
        "batch_size": batch_size,
        "graph_bfloat16": graph.bfloat16,
        "load_average_1m_at_start": os.getloadavg()[0],
        "uptime_at_start": _uptime(),
        "mean_tokens": _mean_tokens(graph, texts),
        "model_load_s": load_s,
    }
    for name, embed in paths.items():
        # Keras traces its predict function, the graph path its forward graph (weights as constants).
        out[f"{name}_first_call_s"], _ = timed(embed, texts[:1])
    walls: dict = {name: [] for name in paths}
    cpus: dict = {name: [] for name in paths}
    vectors = {}
    for _ in range(runs):
        for name, embed in paths.items():
            cpu_start = time.process_time()
            seconds, vectors[name] = timed(embed, texts)
            walls[name].append(seconds)
            cpus[name].append(time.process_time() - cpu_start)
    cores = os.cpu_count()
    for name in paths:
        out[f"{name}_texts_per_s_first_run"] = len(texts) / walls[name][0]
        out[f"{name}_texts_per_s"] = len(texts) / float(np.median(walls[name]))
        out[f"{name}_texts_per_s_idle_estimate"] = len(texts) / (float(np.median(cpus[name])) / cores)
        out[f"{name}_seconds_per_run"] = walls[name]
        if name != "keras":
            out[f"{name}_speedup"] = out[f"{name}_texts_per_s"] / out["keras_texts_per_s"]
            out[f"{name}_speedup_idle_estimate"] = (
                out[f"{name}_texts_per_s_idle_estimate"] / out["keras_texts_per_s_idle_estimate"]
            )
            out[f"{name}_min_cosine_to_keras"] = float(np.sum(vectors[name] * vectors["keras"], axis=1).min())
    out["load_average_1m_at_end"] = os.getloadavg()[0]
    out["uptime_at_end"] = _uptime()
    return out


def _mean_tokens(graph, texts: list[str]) -> float:
    import tensorflow as tf

    return float(graph._tokenize(tf.constant(texts))["padding_mask"].numpy().sum(axis=1).mean())


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def cache_effect(texts: list[str]) -> dict:
    """`AutoModel.fit` (1 trial x 1 epoch, text -> one label) twice in one folder, each time a new
    AutoModel as a later run would make: the first computes the MiniLM embeddings, the second reads
    them from `<directory>/_embeddings`."""
    import components as ak

    labels = np.arange(len(texts)) % 2
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for run in ("first", "second"):
            model = ak.AutoModel(
                inputs=ak.TextInput(name="text"),
                outputs=ak.ClassificationHead(name="label"),
                max_trials=1,
                directory=folder,
                overwrite=True,
                seed=0,
            )
            seconds, _ = timed(model.fit, np.asarray(texts), labels, epochs=1, verbose=0)
            out[f"library_fit_{run}_run_s"] = seconds
            out[f"library_fit_{run}_run_embedded_rows"] = model.embedder.computed_rows
    return out


PARTS = ("text_paths", "text", "images", "cache")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3, help="text_paths: runs per path (the median counts)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    args = parser.parse_args()
    import components.encoders as enc

    results: dict = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results.update(
        {"cpus": os.cpu_count(), "load_average_1m_at_start": os.getloadavg()[0], "batch_size": args.batch_size}
    )
    texts = sample_texts(args.texts)
    results["text_mean_words"] = float(np.mean([len(text.split()) for text in texts]))
    if "text_paths" in args.parts:
        results["text_paths"] = text_paths(texts, args.batch_size, args.runs)
    if "text" in args.parts:
        results["text_load_s"], _ = timed(enc.embed_texts, texts[:1])
        throughput(results, "text", args.texts, enc.embed_texts, texts, batch_size=args.batch_size)
    if "images" in args.parts:
        rng = np.random.default_rng(0)
        with tempfile.TemporaryDirectory() as home:
            results["image_first_load_with_conversion_s"], _ = timed(enc.image_encoder, (64, 64), home=Path(home))
            for side, count in ((64, args.images), (224, max(args.images // 8, args.batch_size))):
                images = rng.integers(0, 256, (count, side, side, 3), dtype=np.uint8)
                results[f"image_{side}_load_cached_s"], _ = timed(enc.embed_images, images[:1], home=Path(home))
                throughput(
                    results,
                    f"image_{side}x{side}",
                    count,
                    enc.embed_images,
                    images,
                    batch_size=args.batch_size,
                    home=Path(home),
                )
    if "cache" in args.parts:
        results.update(cache_effect(texts))
    results["load_average_1m_at_end"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
