"""One search across several processes: keras-tuner's chief/worker mode, with workers that may die.

keras-tuner runs a distributed search from three environment variables: `KERASTUNER_TUNER_ID`
(`chief` for the process holding the oracle, any other id for a worker), `KERASTUNER_ORACLE_IP`
and `KERASTUNER_ORACLE_PORT` (where the chief serves the oracle over gRPC). Every process runs
the same `AutoModel.fit`: the chief serves the oracle until the search is over, then loads the
best trials' checkpoints (the search folder must be shared), ensembles and refits them; each
worker asks the chief for trials, trains them and reports each one's results back (its
per-epoch curves go beside its checkpoint, `trial_<id>/history.json`).

keras-tuner's chief waits forever for a worker that died during a trial. `serve` fails that
trial instead (with the worker's exit code) once `workers` says the worker has exited, and ends
the search when every worker is gone, so a crashed worker costs one trial, not the search.
A chief that dies loses nothing either: rerun it (and the workers) on the same folder, and the
oracle reloads its trials and runs the unfinished ones again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping
from concurrent import futures
from typing import Protocol

import keras_tuner as kt
from keras_tuner.src.distribute import utils as dist_utils
from keras_tuner.src.engine import trial as trial_module

from components.errors import InputError
from components.settings import environ_restored

log = logging.getLogger(__name__)

TUNER_ID, ORACLE_IP, ORACLE_PORT = "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"
CHIEF = "chief"


class Workers(Protocol):
    """What the chief needs to know about its workers: which have exited, with what code."""

    def __len__(self) -> int: ...

    def exited(self) -> Mapping[str, int | None]:
        """Tuner id → exit code of every worker that is gone (None: gone, code unknown)."""


def role() -> str | None:
    """ "chief", "worker" or None (not a distributed search), from keras-tuner's variables."""
    if not dist_utils.has_chief_oracle():
        return None
    return CHIEF if dist_utils.is_chief_oracle() else "worker"


def environment(tuner_id: str, host: str, port: int) -> dict[str, str]:
    """The variables that make a process the chief (`tuner_id="chief"`) or a worker of one search."""
    if not tuner_id or (tuner_id != CHIEF and CHIEF in tuner_id):
        raise InputError(
            f"tuner_id={tuner_id!r}: use 'chief' for the chief and another name (e.g. 'worker0') "
            "for each worker (keras-tuner treats any id containing 'chief' as the chief)."
        )
    return {TUNER_ID: tuner_id, ORACLE_IP: host, ORACLE_PORT: str(port)}


@contextlib.contextmanager
def acting_as(tuner_id: str, host: str, port: int) -> Iterator[None]:
    """Make this process `tuner_id` of the search served at host:port until the block ends."""
    variables = environment(tuner_id, host, port)
    with environ_restored(variables):
        os.environ.update(variables)
        yield


def fail_trials_of_exited_workers(oracle: kt.Oracle, exited: Mapping[str, int | None]) -> list[str]:
    """End the running trial of each exited worker as FAILED and forget the worker. Returns the trial ids."""
    failed = []
    for tuner_id, code in exited.items():
        trial = oracle.ongoing_trials.get(tuner_id)
        if trial is not None:
            how = "was killed" if code is not None and code < 0 else f"exited with code {code}"
            trial.status = trial_module.TrialStatus.FAILED
            trial.message = f"The search worker {tuner_id} {how} during this trial."
            oracle.end_trial(trial)
            failed.append(trial.trial_id)
            log.warning("trial %s failed: search worker %s %s", trial.trial_id, tuner_id, how)
        oracle.tuner_ids.discard(tuner_id)
    return failed


def serve(oracle: kt.Oracle, host: str, port: int, workers: Workers | None = None, poll_s: float = 0.5) -> list[str]:
    """Serve `oracle` to the workers until the search is over; returns the trials failed by dead workers.

    The search is over when the oracle has no trial left for a worker and none is running (as in
    keras-tuner), or when every worker in `workers` has exited.
    """
    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer, exit_chief

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    if not server.add_insecure_port(f"{host}:{port}"):
        raise InputError(
            f"The search chief cannot listen on {host}:{port}; choose a free port (KERASTUNER_ORACLE_PORT)."
        )
    server.start()
    failed: list[str] = []
    handled: set[str] = set()
    try:
        while True:
            time.sleep(poll_s)
            gone = dict(workers.exited()) if workers is not None else {}
            fresh = {tuner_id: code for tuner_id, code in gone.items() if tuner_id not in handled}
            if fresh:
                failed += fail_trials_of_exited_workers(oracle, fresh)
                handled.update(fresh)
            if servicer.stop_triggered and exit_chief(oracle):
                break
            if workers is not None and len(gone) >= len(workers):
                failed += fail_trials_of_exited_workers(oracle, {t: gone.get(t) for t in list(oracle.ongoing_trials)})
                break
    finally:
        server.stop(grace=2).wait()
    return failed
