"""A run's settings: the contract's `training:` section with the command line's values in its place."""

import pytest

from components.data.contract import Training
from components.errors import InputError
from components.pipeline.results import RunSettings


def test_the_device_options_reach_the_run_and_a_command_line_value_is_checked_with_them():
    settings = RunSettings.resolve(Training(distribution="mirrored", mixed_precision="bfloat16"), max_trials=1)
    assert (settings.distribution, settings.mixed_precision, settings.max_trials) == ("mirrored", "bfloat16", 1)
    with pytest.raises(InputError, match=r"^bad search setting: 'mirrored' trains each trial on every device"):
        RunSettings.resolve(Training(distribution="mirrored"), workers=2)
    with pytest.raises(InputError, match=r"^bad search setting: --max-trials: Input should be greater"):
        RunSettings.resolve(Training(), max_trials=0)
