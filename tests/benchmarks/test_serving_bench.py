"""benchmarks/serving.py end to end at a tiny scale: a real `braid serve` of a tiny registered model, half a
second of load per client count, a 20-row batch; checks what the report holds, not how fast it was."""

import json

import pytest

from benchmarks import serving
from tests.conftest import make_demo_contract
from tests.serving_support import register_tiny_champion

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_the_serving_benchmark_drives_a_served_model_and_writes_its_report(tmp_path, monkeypatch):
    contract = make_demo_contract(tmp_path, rows=30, image_size=8)
    champion = register_tiny_champion(tmp_path, contract)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("BRAID_HOME", str(champion.layout.home))  # the server finds the champion there
    out = tmp_path / "serving.json"
    argv = ["--contract", str(contract), "--clients", "1", "2", "--seconds", "0.5"]
    report = serving.main([*argv, "--batch-rows", "20", "--batch-seconds", "0.5", "--out", str(out)])

    assert json.loads(out.read_text()) == report
    assert report["cpus"] >= 1 and report["settings"]["clients"] == [1, 2]
    (run,) = report["runs"]
    assert run["workers"] == 1 and run["ready_s"] > 0
    assert [part["clients"] for part in run["single_row"]] == [1, 2]
    for part in [*run["single_row"], run["batch"]]:
        assert part["requests"] >= 1 and part["errors"] == 0, part
        assert 0 < part["p50_ms"] <= part["p99_ms"] and part["requests_per_s"] > 0
        assert {"load_1min_before", "load_1min_after"} <= set(part)
    assert run["batch"]["rows_per_request"] == 20 and run["batch"]["rows_per_s"] > 0
