"""The served model under load: `braid serve` on 127.0.0.1, N concurrent clients for a bounded time.

Run by hand (not by tests), after `braid demo` (or `braid run`) has registered a champion:
    nice -n 0 python -m benchmarks.serving [--contract data_contracts/demo.yaml] [--workers 1 2]
        [--clients 1 4 8] [--seconds 20] [--batch-rows 2000] [--batch-seconds 20]
Writes benchmarks/results/serving.json (`--out` elsewhere); each server's output goes to benchmarks/.work/serving.

For each worker count a fresh `braid serve <contract> --workers W` is started on a free port (the model
loaded from the registry, as a user serves it) and waited for; a few untimed requests warm it up (Keras
traces its predict function on the first call of each batch size). Then:
- single rows: C client threads (C in `--clients`), each with its own keep-alive connection, send one row
  per request, one after another, for `--seconds`; each request's latency is timed by its client.
  Reported: p50/p99 latency (ms), requests/s (completed / wall time), errors (non-200 answers and
  transport errors, timeouts included).
- batches: one client sends `--batch-rows`-row requests for `--batch-seconds` (at least one); rows/s is
  rows scored / wall time.
Rows are the contract's own data rows (targets dropped), images sent as paths under the server's image
root, cycled in order. The machine may be shared: the 1-minute load average before and after each part
is recorded next to its figures, and the server's CPU count.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from components.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "serving.json"
LOGS = ROOT / "benchmarks" / ".work" / "serving"  # each server's output
READY_TIMEOUT_S = 300  # TensorFlow's import and the model's load on a busy 2-core machine
REQUEST_TIMEOUT_S = 60


def request_rows(contract_file: Path, rows: int) -> list[dict]:
    """`rows` raw rows of the contract's data (targets dropped), as JSON-ready records, cycled if short."""
    from components.data.contract import load_contract
    from components.data.sources import read_rows

    contract = load_contract(contract_file)
    frame = read_rows(contract.source.path).drop(columns=[t.name for t in contract.targets], errors="ignore")
    frame = frame.iloc[[i % len(frame) for i in range(rows)]]
    return json.loads(frame.to_json(orient="split", index=False, date_format="iso"))


def payload(split: dict, start: int, count: int) -> dict:
    n = len(split["data"])
    return {
        "dataframe_split": {"columns": split["columns"], "data": [split["data"][(start + i) % n] for i in range(count)]}
    }


class Server:
    """`braid serve` in its own process group on a free port of 127.0.0.1; stopped by its process id."""

    def __init__(self, contract_file: Path, workers: int, log: Path):
        self.port, self.log = free_port(), log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "flows.cli", "serve", str(contract_file), "--port", str(self.port)]
                + ["--workers", str(workers)],
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "CUDA_VISIBLE_DEVICES": ""},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.popen.poll() is not None:
                raise RuntimeError(f"braid serve exited ({self.popen.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"braid serve did not answer within {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)


def _client_loop(url: str, split: dict, offset: int, rows: int, deadline: float, out: list) -> None:
    """One client: requests of `rows` rows, one after another, until `deadline`; appends (seconds, ok)."""
    with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
        start = offset
        while time.monotonic() < deadline:
            body = payload(split, start, rows)
            began = time.perf_counter()
            try:
                ok = client.post(f"{url}/invocations", json=body).status_code == 200
            except httpx.HTTPError:
                ok = False
            out.append((time.perf_counter() - began, ok))
            start += rows


def drive(url: str, split: dict, clients: int, rows: int, seconds: float) -> dict:
    """`clients` concurrent clients sending `rows`-row requests for `seconds` (every client sends at least one)."""
    load_before = os.getloadavg()[0]
    results: list[list] = [[] for _ in range(clients)]
    began = time.monotonic()
    deadline = began + seconds
    threads = [
        threading.Thread(target=_client_loop, args=(url, split, i * 97, rows, deadline, results[i]))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    times = sorted(t for done in results for t, _ in done)
    good = sum(ok for done in results for _, ok in done)
    return {
        "clients": clients,
        "rows_per_request": rows,
        "requests": len(times),
        "errors": len(times) - good,
        "seconds": round(wall, 2),
        "requests_per_s": round(len(times) / wall, 2),
        "rows_per_s": round(good * rows / wall, 1),
        "p50_ms": round(1000 * statistics.median(times), 1),
        "p99_ms": round(1000 * times[min(len(times) - 1, int(0.99 * len(times)))], 1),
        "load_1min_before": round(load_before, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
    }


def bench_workers(contract: Path, workers: int, args: argparse.Namespace, split: dict, work: Path) -> dict:
    server = Server(contract, workers, work / f"serve-{workers}.log")
    try:
        ready_s = server.wait_ready()
        for rows in (1, args.batch_rows):  # warm-up, untimed: each batch size's first predict traces
            for _ in range(2 * workers):
                httpx.post(f"{server.url}/invocations", json=payload(split, 0, rows), timeout=REQUEST_TIMEOUT_S)
        single = [drive(server.url, split, c, 1, args.seconds) for c in args.clients]
        batch = drive(server.url, split, 1, args.batch_rows, args.batch_seconds)
    finally:
        server.stop()
    for part in [*single, batch]:
        print(json.dumps({"workers": workers, **part}), flush=True)
    return {"workers": workers, "ready_s": round(ready_s, 1), "single_row": single, "batch": batch}


def _shown(path: Path) -> str:
    """The contract's path as the results file records it: relative to the checkout (no machine paths)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return path.name


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contract", type=Path, default=ROOT / "data_contracts" / "demo.yaml")
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=20.0, help="per client count")
    parser.add_argument("--batch-rows", type=int, default=2000)
    parser.add_argument("--batch-seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    split = request_rows(args.contract, max(args.batch_rows, 1))
    runs = [bench_workers(args.contract, w, args, split, LOGS) for w in args.workers]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit.stdout.strip(),
        "contract": _shown(args.contract),
        "cpus": os.cpu_count(),
        "settings": {k: getattr(args, k) for k in ("clients", "seconds", "batch_rows", "batch_seconds")},
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
