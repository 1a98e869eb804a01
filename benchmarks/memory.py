"""Peak resident memory of a child process and everything it starts, sampled until it exits (psutil).

Shared by the benchmarks that run Braid in a fresh process (preprocess_dask, scale, flights_run).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import psutil


def watch_tree(
    child: subprocess.Popen, every: float = 0.2, describe: Callable[[psutil.Process], str] | None = None
) -> tuple[int, dict[int, dict]]:
    """Sample `child`'s process tree every `every` seconds until it exits.

    Args:
        child: the started process.
        every: seconds between samples.
        describe: names a process when it is first seen (its "role"); None: no names.

    Returns:
        The peak of the tree's summed RSS (bytes), and per pid: `peak` (bytes), `peak_s`, `first_s`,
        `last_s` (seconds from the first sample) and `role` when `describe` is given.
    """
    started = time.perf_counter()
    seen: dict[int, dict] = {}
    peak_tree = 0
    while child.poll() is None:
        now = time.perf_counter() - started
        try:
            root = psutil.Process(child.pid)
            sizes = {p.pid: (p, p.memory_info().rss) for p in [root, *root.children(recursive=True)]}
            for pid, (process, _) in sizes.items():
                if pid not in seen:
                    seen[pid] = {"peak": 0, "first_s": now, **({"role": describe(process)} if describe else {})}
        except psutil.Error:  # a process ended between the listing and the reading
            time.sleep(every)
            continue
        for pid, (_, rss) in sizes.items():
            if rss > seen[pid]["peak"]:
                seen[pid].update(peak=rss, peak_s=now)
            seen[pid]["last_s"] = now
        peak_tree = max(peak_tree, sum(rss for _, rss in sizes.values()))
        time.sleep(every)
    return peak_tree, seen


def peak_process(seen: dict[int, dict]) -> int:
    """The largest peak of one process (bytes) among `watch_tree`'s records."""
    return max((p["peak"] for p in seen.values()), default=0)
