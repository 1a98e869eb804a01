"""What the in-memory cache of training examples costs per row: one example at a time against chunks of rows.

    python -m benchmarks.cache_memory                 # 200,000 rows of 20 scalar columns, 3 runs per way
    python -m benchmarks.cache_memory --rows 50000 --runs 1

`AutoModel` keeps the encoded training and validation examples in memory between epochs when they fit
(`auto_model.cached_in_chunks`). Each way runs in a fresh process: a table of 14 float and 4 integer
columns plus two targets (100 bytes of data a row) goes through a `map` (so tf.data cannot slice the arrays
in place), is cached, read once to fill the cache and read twice more as a training epoch reads it
(shuffled, batches of 128). Figures: the resident memory the filled cache adds, per row, and the seconds of
the two epochs; medians of `--runs`. Writes results/cache_memory.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
WAYS = ("one_by_one", "chunks")


def child(way: str, rows: int) -> dict:
    import numpy as np
    import psutil
    import tensorflow as tf

    from components.automl.auto_model import cached_in_chunks

    rng = np.random.default_rng(0)
    x = {f"number_{i}": rng.random(rows).astype("float32") for i in range(14)}
    x.update({f"category_{i}": rng.integers(0, 100, rows) for i in range(4)})
    y = {"value": rng.random(rows).astype("float32"), "kind": rng.integers(0, 2, rows)}
    examples = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a, b))
    process = psutil.Process()
    before = process.memory_info().rss
    cached = examples.cache() if way == "one_by_one" else cached_in_chunks(examples)
    for _ in cached:  # fills the cache
        pass
    added = process.memory_info().rss - before
    started = time.perf_counter()
    for _ in range(2):
        for _ in cached.shuffle(2048, seed=0).batch(128):
            pass
    return {"way": way, "rows": rows, "bytes_per_row": added / rows, "epochs_s": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of cache_memory.json")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.rows)))
        return {}
    runs = []
    for _ in range(args.runs):
        for way in WAYS:  # interleaved: load drifts alike
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.cache_memory", "--child", way, "--rows", str(args.rows)],
                capture_output=True,
                text=True,
                check=True,
                cwd=Path(__file__).parent.parent,
            )
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    result = {
        "rows": args.rows,
        "runs": runs,
        "median": {
            way: {
                key: statistics.median(r[key] for r in runs if r["way"] == way) for key in ("bytes_per_row", "epochs_s")
            }
            for way in WAYS
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cache_memory.json").write_text(json.dumps(result, indent=1) + "\n")
    for way, figures in result["median"].items():
        print(f"{way}: {figures['bytes_per_row']:,.0f} bytes a row, two epochs {figures['epochs_s']:.1f} s")
    return result


if __name__ == "__main__":
    main()
