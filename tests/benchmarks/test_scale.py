"""benchmarks/scale.py's pieces that need no `braid run`: the ×k table and the summary's memory ratios."""

import pandas as pd
import pyarrow.parquet as pq

from benchmarks.scale import summarise, write_times


def test_the_times_k_table_repeats_the_rows_with_unique_ids_and_dates_years_later(tmp_path):
    base = pd.DataFrame(
        {
            "id": [0, 1, 4],  # a sample's ids: not 0..n-1
            "time_hour": ["2013-01-01T10:00:00Z", "2013-06-30T23:00:00Z", "2013-12-31T05:00:00Z"],
            "arr_delay": [11.0, None, -3.0],
        }
    )
    path = tmp_path / "x3.parquet"
    assert write_times(base, 3, path, row_group_rows=2) == 9
    table = pq.read_table(path).to_pandas()
    assert len(table) == 3 * len(base) and table["id"].is_unique
    assert pq.ParquetFile(path).metadata.num_row_groups == 3 * 2  # each copy in groups of at most 2 rows
    for copy in range(3):
        rows = table.iloc[copy * 3 : (copy + 1) * 3].reset_index(drop=True)
        assert list(rows["id"]) == [i + copy * 5 for i in (0, 1, 4)]
        assert list(rows["time_hour"].str.slice(0, 4)) == [str(2013 + copy)] * 3
        assert list(rows["time_hour"].str.slice(4)) == list(base["time_hour"].str.slice(4))  # month, day, hour kept
        pd.testing.assert_series_equal(rows["arr_delay"], base["arr_delay"])
    assert not path.with_suffix(".partial").exists()


def _run(factor, workers, tree, braid_run, dask_worker=None):
    roles = {"braid run": braid_run, **({"dask worker": dask_worker} if dask_worker else {})}
    return {"factor": factor, "workers": workers, "rows": {"train": 7 * factor}, "wall_s": 10.0 * factor,
            "stages_s": {"preprocess": 2.0 * factor}, "preprocess_rows_per_s": 3.5,
            "peak_rss_tree_mb": tree, "peak_rss_by_role_mb": roles}  # fmt: skip


def test_the_summary_states_the_memory_ratio_per_process_against_the_smallest_table():
    runs = [_run(1, 1, 1000, 800), _run(10, 1, 1400, 1300), _run(1, 2, 3000, 900, 900), _run(10, 2, 3100, 950, 1000)]
    summary = summarise(runs)
    assert "peak_rss_ratio_to_smallest" not in summary["x1-w1"]
    one = summary["x10-w1"]
    assert one["peak_rss_ratio_to_smallest"] == {"braid run": 1300 / 800, "tree": 1.4} and not one["memory_goal_met"]
    two = summary["x10-w2"]
    assert two["peak_rss_ratio_to_smallest"]["dask worker"] == 1000 / 900 and two["memory_goal_met"]
