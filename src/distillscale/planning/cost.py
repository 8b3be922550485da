"""FLOPs to accelerator-hours and money, from a hardware preset or explicit numbers.

``hours = FLOPs / (peak_flops * mfu) / 3600``; ``price = hours * price_per_hour``.

The presets are **assumptions**, not measurements: peak dense bf16 throughput from the vendors'
datasheets (no sparsity), a model-FLOPs utilisation typical of well-tuned dense LLM training,
and an indicative on-demand cloud price per device-hour (USD, late 2025). Override any of them
(``peak_flops``, ``mfu``, ``price_per_hour``) with your own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from distillscale.errors import InputError
from distillscale.planning._args import value_subject

__all__ = ["HARDWARE", "Cost", "Hardware", "cost_of", "hardware"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hardware:
    """One device kind.

    Parameters
    ----------
    name : str
        Preset name or ``"custom"``.
    peak_flops : float
        Peak dense throughput, FLOP/s (operations per second) per device.
    mfu : float
        Model-FLOPs utilisation, a fraction in (0, 1].
    price_per_hour : float
        Price of one device-hour (USD).
    """

    name: str
    peak_flops: float
    mfu: float
    price_per_hour: float


#: Presets (assumptions; see the module docstring). Peak bf16 dense FLOP/s per device:
#: H100 SXM 989e12 and H200 989e12 (same Hopper tensor cores), A100 SXM 312e12 (NVIDIA
#: datasheets); "cpu" is a nominal 64-core server at about 2e12 FLOP/s (fp32 FMA).
HARDWARE: dict[str, Hardware] = {
    "h100": Hardware(name="h100", peak_flops=989e12, mfu=0.40, price_per_hour=2.50),
    "a100": Hardware(name="a100", peak_flops=312e12, mfu=0.40, price_per_hour=1.50),
    "h200": Hardware(name="h200", peak_flops=989e12, mfu=0.40, price_per_hour=3.50),
    "cpu": Hardware(name="cpu", peak_flops=2e12, mfu=0.30, price_per_hour=1.00),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Cost:
    """What a FLOPs count costs on one kind of hardware.

    Parameters
    ----------
    flops : float
        Operations.
    hardware : Hardware
        The device assumptions used.
    device_hours : float
        Device-hours (e.g. GPU-hours).
    price : float
        ``device_hours * price_per_hour`` (USD).
    """

    flops: float
    hardware: Hardware
    device_hours: float
    price: float

    def to_json(self) -> dict[str, float | str]:
        """Plain JSON data."""
        return {
            "hardware": self.hardware.name,
            "peak_flops": self.hardware.peak_flops,
            "mfu": self.hardware.mfu,
            "price_per_hour": self.hardware.price_per_hour,
            "flops": self.flops,
            "device_hours": self.device_hours,
            "price": self.price,
        }


def _positive(given: float, option: str, what: str) -> float:
    v = float(given)
    if not math.isfinite(v) or v <= 0:
        raise InputError(f": must be a positive {what}", subject=value_subject(option, repr(given)))
    return v


#: The fix for a device without a preset, in Python terms (the CLI writes the flags).
_CUSTOM = ("peak_flops", "give peak_flops=, mfu= and price_per_hour=")


def hardware(
    name: str | None = "h100",
    *,
    peak_flops: float | None = None,
    mfu: float | None = None,
    price_per_hour: float | None = None,
) -> Hardware:
    """A preset (``h100``, ``a100``, ``h200``, ``cpu``), optionally overridden field by field.

    With ``name=None`` all three numbers must be given (a ``"custom"`` device).

    Raises
    ------
    InputError
        Unknown preset, missing numbers for a custom device, or a value out of range.
    """
    if name is None:
        if peak_flops is None or mfu is None or price_per_hour is None:
            raise InputError(
                ": a device without a preset needs all three numbers",
                subject=("hardware", "name=None", ""),
                hints=(_CUSTOM,),
            )
        base = Hardware(name="custom", peak_flops=1.0, mfu=1.0, price_per_hour=0.0)
    else:
        key = name.lower()
        if key not in HARDWARE:
            raise InputError(
                f": not a preset; use one of {', '.join(HARDWARE)}",
                subject=("hardware", f"name={name!r}", name),
                hints=(("peak_flops", "or " + _CUSTOM[1]),),
            )
        base = HARDWARE[key]
    if peak_flops is not None:
        base = replace(base, peak_flops=_positive(peak_flops, "peak_flops", "FLOP/s"))
    if mfu is not None:
        m = _positive(mfu, "mfu", "fraction")
        if m > 1:
            raise InputError(
                ": must be a fraction in (0, 1], e.g. 0.4", subject=value_subject("mfu", repr(mfu))
            )
        base = replace(base, mfu=m)
    if price_per_hour is not None:
        p = float(price_per_hour)
        if not math.isfinite(p) or p < 0:
            raise InputError(
                ": must be >= 0 (USD)",
                subject=value_subject("price_per_hour", repr(price_per_hour)),
            )
        base = replace(base, price_per_hour=p)
    return base


def cost_of(flops: float, device: Hardware) -> Cost:
    """Device-hours and price of ``flops`` operations on ``device``."""
    hours = float(flops) / (device.peak_flops * device.mfu) / 3600.0
    return Cost(
        flops=float(flops), hardware=device, device_hours=hours, price=hours * device.price_per_hour
    )
