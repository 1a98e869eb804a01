"""Seeds that other threads cannot move: `seeded(seed)` around building a model.

`keras.utils.set_random_seed` seeds Python's global `random`, and Keras draws the default seed of
every initializer and dropout layer from it while the model is built. Other threads draw from the
same generator at times that depend on load: the keepalive pings of the websockets client that
Prefect's event loop thread keeps open call `random.getrandbits` every few seconds. One ping
during a build shifted every later layer's seed, so the same trial trained differently in two
runs with one seed (`braid run --seed 3` twice under CI load: trial 2's val_loss 3.545 vs 3.861).
While `seeded` is active, Keras draws those seeds from a private `random.Random(seed)` instead.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator

import keras
from keras.src.random import seed_generator

_LOCK = threading.RLock()  # one private generator at a time; builds in other threads wait


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Seed Python, NumPy and TensorFlow, and draw Keras' default layer seeds from a private
    generator seeded with `seed` until the block ends. Does nothing for `seed=None`."""
    if seed is None:
        yield
        return
    keras.utils.set_random_seed(seed)
    with _LOCK:
        shared = seed_generator.python_random
        seed_generator.python_random = random.Random(seed)
        try:
            yield
        finally:
            seed_generator.python_random = shared
