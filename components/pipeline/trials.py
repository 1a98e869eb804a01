"""The champion's search, re-read: every trial's per-head validation losses, the Pareto front across
heads, and which trial other head weights would pick from it (no new search)."""

from __future__ import annotations

from dataclasses import dataclass

from components.data.contract import Contract
from components.errors import BraidError
from components.evaluation import pareto
from components.layout import Layout
from components.pipeline.gate import CHAMPION, champion_run
from components.pipeline.runs import registered_name, tracker_for
from components.pipeline.warm import TRIALS_ARTIFACT


@dataclass(frozen=True)
class Front:
    """The trials of one run, best first (`pareto` and `val/<head>_loss` on each), and the choice."""

    run_id: str
    heads: list[str]
    trials: list[dict]
    searched: str  # the trial the search's own objective chose
    chosen: str  # the trial the given weights choose
    objective: str = "val_combined_loss"  # what each trial's `score` is


def champion_front(contract: Contract, layout: Layout, weights: dict[str, float] | None = None) -> Front:
    """The champion run's trials and the Pareto choice for `weights` (head → weight, default 1 each).

    Raises:
        BraidError: there is no champion, or its run kept no trials with per-head losses.
        InputError: a weight names a head the contract does not have.
    """
    run_id = champion_run(contract, layout)
    if run_id is None:
        raise BraidError(
            f"no model '{registered_name(contract)}' has alias '{CHAMPION}': train one first with "
            f"`braid run {contract.contract_path or contract.name}`"
        )
    kept = tracker_for(layout).read_json(run_id, TRIALS_ARTIFACT) or {}
    heads, trials = kept.get("heads", []), kept.get("trials", [])
    points = {
        t["trial_id"]: {h: t[f"val/{h}_loss"] for h in heads}
        for t in trials
        if all(f"val/{h}_loss" in t for h in heads)
    }
    if not points:
        raise BraidError(
            f"the champion's run {run_id} kept no trials with per-head validation losses "
            f"({TRIALS_ARTIFACT}); it predates them: train again with `braid run`"
        )
    return Front(
        run_id=run_id,
        heads=heads,
        trials=trials,
        searched=trials[0]["trial_id"],
        chosen=pareto.choose(points, weights),
        objective=kept.get("objective") or Front.objective,
    )
