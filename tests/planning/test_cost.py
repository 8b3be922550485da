from __future__ import annotations

import pytest

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
    ("kwargs", "flag"),
    [
        ({"name": "tpu"}, "--hardware"),
        ({"name": None, "mfu": 0.4}, "--hardware"),
        ({"name": "h100", "mfu": 1.5}, "--mfu"),
        ({"name": "h100", "mfu": 0.0}, "--mfu"),
        ({"name": "h100", "peak_flops": -1.0}, "--peak-flops"),
        ({"name": "h100", "price_per_hour": -2.0}, "--price-per-hour"),
    ],
)
def test_bad_hardware(kwargs, flag):
    name = kwargs.pop("name")
    with pytest.raises(InputError, match=flag):
        hardware(name, **kwargs)
