"""The cache benchmark's two ways, in fresh processes: chunks hold a fraction of the memory per row."""

import json

from benchmarks import cache_memory


def test_chunks_cost_less_memory_a_row_than_single_examples(tmp_path):
    result = cache_memory.main(["--rows", "20000", "--runs", "1", "--out", str(tmp_path)])
    assert json.loads((tmp_path / "cache_memory.json").read_text()) == json.loads(json.dumps(result))
    median = result["median"]
    # 20,000 rows of 22 scalar tensors: ~60 MB cached one by one, ~5 MB in chunks
    assert median["chunks"]["bytes_per_row"] * 3 < median["one_by_one"]["bytes_per_row"]
    assert all(figures["epochs_s"] > 0 for figures in median.values())
