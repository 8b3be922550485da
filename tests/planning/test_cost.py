from __future__ import annotations

import pytest

from distillscale.cli.errors import cli_message
from distillscale.errors import InputError
from distillscale.planning import HARDWARE, cost_of, hardware


def test_h100_preset_cost_by_hand():
    c = cost_of(1e21, hardware("h100"))
    hours = 1e21 / (989e12 * 0.40) / 3600
    assert c.device_hours == pytest.approx(hours, rel=1e-12)
    assert c.price == pytest.approx(hours * 2.50, rel=1e-12)
    assert c.to_json()["hardware"] == "h100"


def test_presets_and_overrides():
    assert set(HARDWARE) == {"h100", "a100", "h200", "cpu"}
    a100 = hardware("A100", mfu=0.5, price_per_hour=1.0)
    assert (a100.peak_flops, a100.mfu, a100.price_per_hour) == (312e12, 0.5, 1.0)
    custom = hardware(None, peak_flops=1e15, mfu=0.5, price_per_hour=4.0)
    c = cost_of(3.6e18, custom)
    assert c.device_hours == pytest.approx(2.0)
    assert c.price == pytest.approx(8.0)


@pytest.mark.parametrize(
    ("kwargs", "python", "flag"),
    [
        ({"name": "tpu"}, "name='tpu': not a preset", "--hardware tpu: not a preset"),
        ({"name": None, "mfu": 0.4}, "give peak_flops=, mfu= and", "give --peak-flops, --mfu and"),
        ({"name": "h100", "mfu": 1.5}, "mfu=1.5: must be a fraction", "--mfu 1.5: must"),
        ({"name": "h100", "mfu": 0.0}, "mfu=0.0: must be", "--mfu 0.0: must"),
        ({"name": "h100", "peak_flops": -1.0}, "peak_flops=-1.0: must", "--peak-flops -1.0:"),
        ({"name": "h100", "price_per_hour": -2.0}, "price_per_hour=-2.0", "--price-per-hour -2.0"),
    ],
)
def test_bad_hardware(kwargs, python, flag):
    name = kwargs.pop("name")
    with pytest.raises(InputError) as info:
        hardware(name, **kwargs)
    assert python in str(info.value) and "--" not in str(info.value)
    assert flag in cli_message(info.value)
