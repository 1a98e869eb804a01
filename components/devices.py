"""The devices TensorFlow computes on: the CPU split into logical devices, so that multi-device code
(`tf.distribute.MirroredStrategy`) runs and is tested on a machine without GPUs.

TensorFlow fixes its devices when its runtime starts (the first op or device query), so the split must
come before that: `components/__init__.py` applies `BRAID_CPU_LOGICAL_DEVICES` on import, the one place
every Braid process (the CLI, a search worker, a test session) passes before it touches TensorFlow.

Example:
    >>> split_cpu(2)  # before TensorFlow runs anything
    >>> tf.distribute.MirroredStrategy(devices=["/cpu:0", "/cpu:1"]).num_replicas_in_sync
    2
"""

from __future__ import annotations

from components.errors import InputError
from components.settings import Settings


def split_cpu(count: int) -> None:
    """Make the first physical CPU `count` logical TensorFlow devices (`/cpu:0` ... `/cpu:{count-1}`).

    Args:
        count: logical devices wanted (1 leaves the CPU whole).

    Raises:
        InputError: TensorFlow's runtime already started with another number of CPU devices.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # the runtime already started: fine if it has the devices asked for
        found = len(tf.config.list_logical_devices("CPU"))
        if found != count:
            raise InputError(
                f"BRAID_CPU_LOGICAL_DEVICES={count}: TensorFlow already started with {found} CPU device(s); "
                "set the variable before the process starts (or import components before running TensorFlow)."
            ) from None


def apply_settings(settings: Settings | None = None) -> None:
    """Split the CPU as `BRAID_CPU_LOGICAL_DEVICES` asks (nothing when it is unset)."""
    count = (settings or Settings()).braid_cpu_logical_devices
    if count:
        split_cpu(count)
