"""Step 5, the gate: each model is logged and registered as `challenger`; it becomes `champion` when it is
the first version or beats the champion scored on the same holdout rows, and never when a head is no
better than its trivial baseline (or, if the contract asks, than its classical model). The model is a few
untrained Keras layers over the tiny demo's state: no search."""

from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from components.data import records
from components.data.preprocess import transform_frame
from components.layout import Layout
from components.pipeline.assess import HOLDOUT, selection_metric, serving_config
from components.pipeline.gate import decide, register
from components.pipeline.results import Evaluated, Trained
from components.pipeline.rows import holdout_rows
from tests.components.pipeline.support import open_run
from tests.conftest import braid_home
from tests.serving_support import tiny_model

HEADS = ("kind", "score", "tags")


@pytest.fixture(scope="module")
def gated(tiny_demo, tmp_path_factory, empty_mlflow_store):
    """Five challengers through the gate in turn, each from a run of its own: the first; one scoring below
    the champion; one above it but no better than the trivial baseline on `score` (and not better than
    the classical model on `kind`, which its contract requires); one above it but not above the classical
    model; one above it. Returns ({label: Decision}, {label: run}, layout)."""
    contract, validated, prepared = tiny_demo
    folder = tmp_path_factory.mktemp("gate")
    state = records.load_state(prepared.directory)
    holdout = holdout_rows(contract, records.split_ids(prepared.directory, "test"))
    model = tiny_model(
        transform_frame(state, holdout.head(2), contract.source.image_base), serving_config(contract, state, {})
    )
    model.save(folder / "model.keras")
    trained = Trained(str(folder / "model.keras"), [{"trial_id": "0"}], {}, {}, batch_size=8)
    challengers = {  # label: (score, beats_trivial, beats_classical, require_beating_classical)
        "first": (0.0, True, True, False),
        "worse": (-1e9, True, True, False),
        "trivial": (1e9, False, False, True),
        "classical": (1e9, True, False, True),
        "better": (1e9, True, True, False),
    }
    decisions, runs = {}, {}
    with pytest.MonkeyPatch.context() as env:
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        layout = Layout(braid_home(folder / "home", empty_mlflow_store))
        for label, (score, trivial, classical, required) in challengers.items():
            run = open_run(contract, layout, validated, prepared, challenger=label)
            holdout.to_parquet(Path(run.search_dir) / HOLDOUT, index=False)
            evaluated = Evaluated(
                metrics={selection_metric(contract): score},
                table_markdown="",
                combined_score=score,
                primary_score=score,
                plots=[],
                test_rows=len(holdout),
                beats_classical={head: classical or head != "kind" for head in HEADS},
                beats_trivial={head: trivial or head != "score" for head in HEADS},
            )
            decisions[label] = register(
                contract, layout, run, prepared, trained, evaluated, require_beating_classical=required
            )
            runs[label] = run
    return decisions, runs, layout


def test_the_policy_in_figures():
    assert decide(0.1, None, None, 10) == (True, "first registered version: it becomes the champion")
    assert decide(0.1, "3", None, 10) == (True, "current champion v3 cannot score this holdout; replaced")
    assert decide(0.5, "3", 0.4, 10) == (True, "challenger 0.5000 > champion v3 0.4000 on the same 10 holdout rows")
    assert decide(0.4, "3", 0.4, 10)[0] is False, "a tie keeps the champion"


def test_the_first_version_becomes_champion_and_challenger(gated):
    decisions, runs, layout = gated
    first = decisions["first"]
    assert (first.version, first.promoted, first.previous_champion, first.champion_score) == ("1", True, None, None)
    assert first.reason == "first registered version: it becomes the champion"
    client = MlflowClient(layout.mlflow_uri)
    version = client.get_model_version(first.registered_model, "1")
    assert version.run_id == runs["first"].run_id and version.tags["braid.data_hash"]
    tags = client.get_run(runs["first"].run_id).data.tags
    assert (tags["braid.registered_version"], tags["braid.promoted"]) == ("1", "True")


def test_a_worse_challenger_is_registered_and_the_champion_stays(gated):
    decisions, runs, layout = gated
    worse = decisions["worse"]
    assert (worse.version, worse.promoted, worse.previous_champion) == ("2", False, "1")
    rows = len(pd.read_parquet(Path(runs["worse"].search_dir) / HOLDOUT))
    assert worse.reason == (
        f"challenger -1000000000.0000 <= champion v1 {worse.champion_score:.4f} on the same {rows} holdout rows"
    )
    metrics = MlflowClient(layout.mlflow_uri).get_run(runs["worse"].run_id).data.metrics
    assert "gate/champion_score" in metrics, "the champion's score on the same rows is logged beside the run's"


def test_a_head_no_better_than_trivial_keeps_a_better_challenger_from_champion(gated):
    decisions, runs, layout = gated
    trivial = decisions["trivial"]
    assert not trivial.promoted and trivial.version == "3"
    assert trivial.reason == (
        "score did not beat the trivial baseline on the test split (its primary metric); "
        "registered without the champion alias"
    )
    tags = MlflowClient(layout.mlflow_uri).get_run(runs["trivial"].run_id).data.tags
    assert (tags["braid.beats_trivial"], tags["braid.beats_classical"], tags["braid.promoted"]) == (
        "False",
        "False",
        "False",
    )


def test_a_contract_that_requires_beating_the_classical_model_keeps_a_head_that_did_not_out(gated):
    classical = gated[0]["classical"]
    assert not classical.promoted and not classical.beats_classical
    assert classical.reason == "the contract requires beating the classical model, and kind did not"


def test_a_better_challenger_takes_champion_and_both_aliases_move(gated):
    decisions, _, layout = gated
    better = decisions["better"]
    assert (better.version, better.promoted, better.previous_champion) == ("5", True, "1")
    assert better.champion_score == pytest.approx(decisions["worse"].champion_score), "the same champion, rows"
    client = MlflowClient(layout.mlflow_uri)
    for alias in ("champion", "challenger"):
        assert str(client.get_model_version_by_alias(better.registered_model, alias).version) == "5"
    assert better.model_uri.startswith("models:/") and "**braid-demo v5** registered" in better.markdown
