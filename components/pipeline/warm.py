"""Part of step 3: tonight's search starts from the best of earlier nights.

Every run keeps its trials (hyperparameters, scores, per-head losses) as the MLflow artifact
`search/trials.json`. A new run of a contract whose features and targets are unchanged (same schema
fingerprint) reads the champion's run and the latest finished runs, and hands their best
configurations to the tuner as its first trials (re-evaluated on tonight's data), champion first;
the tuner explores from there. A schema change starts cold and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.data.contract import Contract
from components.layout import Layout
from components.pipeline.gate import champion_run
from components.pipeline.runs import SCHEMA_TAG, schema_fingerprint, tracker_for

TRIALS_ARTIFACT = "search/trials.json"
EARLIER_RUNS = 3  # finished runs read besides the champion's


@dataclass(frozen=True)
class WarmStart:
    """The configurations a search starts from, and where they came from (for the logs and the run)."""

    configurations: list[dict] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # run ids read, champion's first
    note: str = "cold: no earlier finished run of this contract"


def warm_start(contract: Contract, layout: Layout, experiment_id: str, run_id: str, max_trials: int) -> WarmStart:
    """The best configurations of the champion's run and the latest runs of the same schema, best first,
    at most a third of the trial budget (at least one), so the tuner still explores (seeding more
    filled the budget and ended behind a cold search: benchmarks/README.md, warm_start)."""
    tracker = tracker_for(layout)
    schema = schema_fingerprint(contract)
    sources: list[str] = []
    champion = champion_run(contract, layout)
    if champion:
        sources.append(champion)
    earlier = tracker.finished_runs(
        experiment_id, {"braid.contract": contract.name}, exclude=run_id, limit=EARLIER_RUNS
    )
    sources += [r.info.run_id for r in earlier]
    sources = [s for s in dict.fromkeys(sources) if s != run_id]
    if not sources:
        return WarmStart()
    same = [s for s in sources if tracker.get_run(s).data.tags.get(SCHEMA_TAG) == schema]
    if not same:
        return WarmStart(
            note=f"cold: the features or targets changed since run {sources[0]} (schema "
            f"{tracker.get_run(sources[0]).data.tags.get(SCHEMA_TAG, 'unknown')} → {schema})"
        )
    limit = max(1, max_trials // 3)
    completed = {
        source: [
            t["hyperparameters"]
            for t in (tracker.read_json(source, TRIALS_ARTIFACT) or {}).get("trials", [])
            if t.get("status") == "COMPLETED" and t.get("hyperparameters")
        ]
        for source in same
    }
    # Each earlier run lends its best first (the champion's before the rest), then the runners-up.
    configurations: list[dict] = []
    for rank in range(max((len(c) for c in completed.values()), default=0)):
        for trials in completed.values():
            if rank < len(trials) and trials[rank] not in configurations:
                configurations.append(trials[rank])
    configurations = configurations[:limit]
    if not configurations:
        return WarmStart(sources=same, note="cold: the earlier runs kept no completed trial")
    first = " (the champion's first)" if champion and same[0] == sources[0] else ""
    return WarmStart(
        configurations=configurations,
        sources=same,
        note=f"warm: {len(configurations)} configuration(s) from {len(same)} earlier run(s){first}",
    )
