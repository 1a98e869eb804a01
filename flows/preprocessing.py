"""Preprocessing on a Dask cluster: the source's parts fitted and written side by side, as mapped Prefect tasks.

`components.data.parallel` does the work (a part's fit, the exact merge, a part's shards); this flow maps
it over Prefect's Dask task runner (`prefect-dask`): a local cluster of `preprocess.workers` processes on
127.0.0.1, or the existing scheduler `BRAID_DASK_ADDRESS` names (a Dask cluster on Kubernetes, say: then
every worker needs Braid installed and the Braid home on storage they all reach). The output equals the
one-process path's (`parallel.shard_contents`), so `training_pipeline` takes this path only when asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE

from components import pipeline
from components.data.contract import Contract
from components.errors import MissingExtraError
from components.layout import Layout
from components.settings import Settings, environ_restored

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner

    from components.data.parallel import PartWritten, PreprocessJob


# TensorFlow loads with `components.data.parallel`: imported where a part runs, not by `braid validate`.
@task(name="fit-part", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def fit_part(job: PreprocessJob, part) -> object:
    from components.data import parallel

    return parallel.fit_part(job, part)


@task(name="write-part", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=5)
def write_part(job: PreprocessJob, state, part) -> PartWritten:
    from components.data import parallel

    return parallel.write_part(job, state, part)


@flow(name="braid-preprocess-parts")
def preprocess_parts(contract: Contract, data_hash: str, home: str, quarantine_path: str | None) -> pipeline.Prepared:
    """Split plan and parts here, each part's fit on a worker, the merge here, each part's shards on a worker."""
    from components.data import parallel  # (TensorFlow: only once this flow runs)

    job = pipeline.start_preprocess_in_parts(contract, Layout(Path(home)), data_hash, quarantine_path)
    if isinstance(job, pipeline.Prepared):
        get_run_logger().info("reused the preprocessed data in %s", job.directory)
        return job
    get_run_logger().info("preprocessing %s in %d parts", contract.name, len(job.parts))
    fits = fit_part.map(unmapped(job), job.parts).result()
    state = parallel.merge_fits(job, fits)  # here: the parts' fits are small (counts, sums)
    written = write_part.map(unmapped(job), unmapped(state), job.parts).result()
    return pipeline.finish_preprocess_in_parts(job, state, written)


def dask_runner(workers: int, address: str | None = None) -> DaskTaskRunner:
    """The task runner: the scheduler at `address`, else a local cluster of `workers` processes (one thread
    each: the parts are CPU-bound Python and pandas) on 127.0.0.1, no dashboard."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise MissingExtraError(
            f"preprocessing on Dask ({'BRAID_DASK_ADDRESS' if address else f'preprocess.workers: {workers}'}) needs "
            "the `dask` extra: pip install 'braid[dask]' (or set preprocess.workers: 1 and unset BRAID_DASK_ADDRESS)"
        ) from None
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "host": "127.0.0.1",
            "dashboard_address": None,
        }
    )


def on_dask(contract: Contract, settings: Settings | None = None) -> DaskTaskRunner | None:
    """The Dask runner this contract's preprocessing asks for (`preprocess.workers` > 1, or a scheduler in
    BRAID_DASK_ADDRESS), or None for the one-process path."""
    address = (settings or Settings()).braid_dask_address
    if address or contract.preprocess.workers > 1:
        return dask_runner(contract.preprocess.workers, address)
    return None


def preprocess_on_dask(contract: Contract, data_hash: str, home: str, quarantine_path: str | None,
                       runner: DaskTaskRunner) -> pipeline.Prepared:  # fmt: skip
    """`preprocess_parts` as a subflow on `runner`."""
    import dask
    import distributed  # noqa: F401  (registers the nanny's settings read below)

    # A local cluster's nannies set the workers' limits (OMP_NUM_THREADS=1, MALLOC_TRIM_THRESHOLD_, ...: Dask's
    # `distributed.nanny.pre-spawn-environ`) in this process's environment to spawn them, and leave them there:
    # the rest of the run (scikit-learn's OpenMP loaded later for the classical models and the evaluation, and
    # the processes started later) would run on one thread. Put back what was there.
    with environ_restored(dask.config.get("distributed.nanny.pre-spawn-environ", {})):
        return preprocess_parts.with_options(task_runner=runner)(contract, data_hash, home, quarantine_path)
