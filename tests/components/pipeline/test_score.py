"""Batch scoring: a file of raw rows through the model at an alias, ids first, written to Parquet, with the
drift of its feature columns from the champion's training profile in the result. (Rows that cannot be
read: tests/components/serving/test_pyfunc.py.)"""

import json

import pandas as pd
import pytest

from components.data.profile import profile_frame
from components.errors import BraidError
from components.pipeline.drift import PROFILE
from components.pipeline.runs import tracker_for
from components.pipeline.score import score_file
from tests.conftest import braid_home
from tests.serving_support import register_tiny_champion


@pytest.fixture(scope="module")
def champion(tmp_path_factory, demo_contract_factory, empty_mlflow_store):
    """A few untrained layers over the demo's state, registered as `champion` in a SQLite store of its own."""
    folder = tmp_path_factory.mktemp("score")
    braid_home(folder / "home", empty_mlflow_store)
    return register_tiny_champion(folder, demo_contract_factory(folder, rows=40, image_size=8))


@pytest.fixture
def rows(champion, monkeypatch):
    """The demo's rows without their targets (MLFLOW_TRACKING_URI unset: the champion's own store)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    frame = pd.read_csv(champion.contract.source.path)
    return frame.drop(columns=[t.name for t in champion.contract.targets])


def test_an_alias_no_model_has_is_a_clear_error(champion, rows, tmp_path):
    rows.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(
        BraidError, match=r"no model 'braid-demo' has alias 'nightly' in sqlite:.*`braid run .*demo\.yaml`"
    ):
        score_file(champion.contract, champion.layout, tmp_path / "rows.csv", None, alias="nightly")


def test_every_row_is_scored_by_id_into_the_scores_folder(champion, rows, tmp_path):
    rows.to_csv(tmp_path / "tonight.csv", index=False)
    scored = score_file(champion.contract, champion.layout, tmp_path / "tonight.csv", None)
    assert (scored.rows, scored.skipped) == (len(rows), 0)
    assert scored.model_uri == "models:/braid-demo@champion"
    output = champion.layout.scores("demo")
    assert scored.output.startswith(str(output / "tonight-")) and scored.output.endswith(".parquet")
    out = pd.read_parquet(scored.output)
    assert out.columns[0] == "id" and out["id"].tolist() == rows["id"].tolist()
    assert {t.name for t in champion.contract.targets} <= set(out.columns)
    assert out["score"].notna().all() and out["kind"].isin(["antique", "gadget", "heirloom", "tool"]).all()
    assert scored.drifted == [] and "no training statistics" in scored.drift_markdown


def test_rows_that_drifted_from_the_champions_profile_are_named_in_the_result(
    tmp_path, demo_contract_factory, empty_mlflow_store
):
    # a champion of its own: the profile logged here would change what the other tests' champion reports
    braid_home(tmp_path / "home", empty_mlflow_store)
    champion = register_tiny_champion(tmp_path, demo_contract_factory(tmp_path, rows=40, image_size=8))
    contract, tracker = champion.contract, tracker_for(champion.layout)
    run_id = tracker.version_run_id("braid-demo", tracker.alias_version("braid-demo", "champion"))
    training = pd.read_csv(contract.source.path)
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "profile.json").write_text(json.dumps(profile_frame(contract, training, contract.source.image_base)))
    tracker.log_artifacts(run_id, profile, "profile")
    assert tracker.read_json(run_id, PROFILE) is not None
    rows = training.drop(columns=[t.name for t in contract.targets])
    number = next(f.name for f in contract.features if f.modality == "numerical")
    rows[number] = rows[number] * 5 + 100
    rows.to_csv(tmp_path / "moved.csv", index=False)
    scored = score_file(contract, champion.layout, tmp_path / "moved.csv", tmp_path / "out.parquet")
    assert scored.rows == len(rows) and scored.drifted and all(d.startswith(f"{number} ") for d in scored.drifted)
    assert number in scored.drift_markdown
