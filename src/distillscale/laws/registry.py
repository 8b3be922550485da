"""The law registry: every law by name (docs/conventions.md) and :func:`get_law`."""

from __future__ import annotations

from distillscale.errors import InputError
from distillscale.laws.base import Law
from distillscale.laws.chinchilla import Chinchilla
from distillscale.laws.chinchilla_gamma import ChinchillaGamma
from distillscale.laws.distillation import Distillation
from distillscale.laws.downstream import Downstream
from distillscale.laws.kaplan import Kaplan
from distillscale.laws.overtrain import Overtrain

__all__ = ["LAWS", "get_law"]

#: Every law by name, in the order of docs/conventions.md.
LAWS: dict[str, Law] = {
    law.name: law
    for law in (
        Chinchilla(),
        ChinchillaGamma(),
        Kaplan(),
        Distillation(),
        Overtrain(),
        Downstream(),
    )
}


def get_law(name: str) -> Law:
    """The law called ``name`` (e.g. ``"chinchilla"``).

    Raises
    ------
    InputError
        When no law has that name; the message lists the available names.
    """
    try:
        return LAWS[name]
    except KeyError:
        raise InputError(
            f"unknown law {name!r}; available laws: {', '.join(LAWS)} (see `distillscale laws`)"
        ) from None
