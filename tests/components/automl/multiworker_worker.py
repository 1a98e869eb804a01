"""One worker of the data-parallel test (`test_multiworker.py`), run as a script with its `TF_CONFIG`:
trains one small regression model under `data_parallel_strategy` and saves its weights and losses in
`<folder>/worker<index>.npz`. With `DIE=1` it exits with code 3 before joining the cluster."""

import os
import sys
from pathlib import Path

if os.environ.get("DIE") == "1":
    print("told to die before joining the cluster", flush=True)
    sys.exit(3)

from components.automl.multiworker import data_parallel_strategy, worker_index  # noqa: E402

strategy = data_parallel_strategy()  # first: it starts the collectives

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

rng = np.random.default_rng(0)
x = rng.normal(size=(512, 4)).astype("float32")
y = (x @ np.array([1.0, -2.0, 0.5, 3.0], "float32"))[:, None]
dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(512, seed=0).batch(64)  # the global batch
with strategy.scope():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
history = model.fit(dataset, epochs=4, verbose=0)
np.savez(
    Path(sys.argv[1]) / f"worker{worker_index()}.npz",
    loss=np.array(history.history["loss"]),
    replicas=strategy.num_replicas_in_sync,
    *model.get_weights(),
)
