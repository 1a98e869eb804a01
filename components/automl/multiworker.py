"""Data-parallel training of one model across processes: `tf.distribute.MultiWorkerMirroredStrategy`.

Each process is one worker of a cluster that `TF_CONFIG` describes (`tf_config`): the same model is
built in every worker, each reads its share of every global batch (the dataset is auto-sharded by data),
and the gradients are all-reduced over gRPC before each step, so the weights stay identical everywhere.
Worker 0 is the chief: what it saves is the model. Who starts the processes is the caller's business
(the pipeline: `components.pipeline.data_parallel`).

The strategy must be made before TensorFlow runs anything else in the process (it starts the collective
runtime), so a worker makes it first thing.

Example:
    >>> os.environ["TF_CONFIG"] = tf_config(["127.0.0.1:20000", "127.0.0.1:20001"], index=0)
    >>> strategy = data_parallel_strategy()  # in each worker, index 0 and 1
    >>> with strategy.scope():
    ...     model = build_and_compile()
    >>> model.fit(dataset)  # the global batch, split across the two workers
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

CHIEF_INDEX = 0


def tf_config(addresses: list[str], index: int) -> str:
    """`TF_CONFIG` of worker `index` in the cluster of `addresses` ("host:port", one per worker)."""
    return json.dumps({"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": int(index)}})


def worker_index() -> int:
    """This process's index in `TF_CONFIG` (0, the chief, without one)."""
    raw = os.environ.get("TF_CONFIG")
    return int(json.loads(raw)["task"]["index"]) if raw else CHIEF_INDEX


class _KerasMultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy with the two reductions Keras 3 asks of it made to work.

    Keras 3's TensorFlow trainer (3.15) reduces the first distributed batch as one nest (`reduce` takes one
    value: "Attempt to convert a value (PerReplica ...) to a Tensor") and each scalar metric along axis 0
    ("Invalid reduction dimension 0 for input with 0 dimensions"); one worker's strategy does neither, so
    only multi-worker training meets them. Here a nest is reduced leaf by leaf, a scalar without an axis.
    """

    def reduce(self, reduce_op, value, axis):
        if isinstance(value, (tuple, list, dict)):
            return tf.nest.map_structure(lambda leaf: self.reduce(reduce_op, leaf, axis), value)
        if axis is not None and all(
            getattr(local, "shape", None) is not None and local.shape.rank == 0
            for local in self.experimental_local_results(value)
        ):
            axis = None  # the mean over replicas of one number each
        return super().reduce(reduce_op, value, axis)


def data_parallel_strategy() -> tf.distribute.Strategy:
    """The strategy of this worker process, from its `TF_CONFIG` (one worker alone without one)."""
    return _KerasMultiWorkerStrategy()
