"""Bundled published coefficient sets (``@hoffmann2022``, ``@busbridge2025``, ...).

Each set is one JSON file in this folder: the law it belongs to, natural parameter values,
confidence intervals where the paper gives them, the citation, the number of runs fitted and the
parameter-count convention its ``N`` uses. They serve as certified test values and as fits to
predict or plan with (``distillscale predict --fit @busbridge2025``).

Parameter counts differ by paper (docs/references.md: Parameter counting): Hoffmann et al.,
Besiroglu et al. and Gadre et al. count all parameters (``"total"``), Kaplan et al. and Busbridge
et al. non-embedding parameters (``"non_embedding"``); ``"unverified"`` marks a set whose source
does not say.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from distillscale.errors import InputError
from distillscale.laws.base import Law
from distillscale.laws.registry import get_law

__all__ = ["PublishedSet", "list_published", "load_published"]

ParamCount = Literal["non_embedding", "total", "unverified"]
_PARAM_COUNTS = ("non_embedding", "total", "unverified")
_KEYS = (
    "name",
    "law",
    "params",
    "ci",
    "ci_level",
    "n_points",
    "param_count",
    "supervised",
    "citation",
    "notes",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishedSet:
    """One published coefficient set.

    Parameters
    ----------
    name : str
        Name without the ``@`` (``"busbridge2025"``).
    law : str
        Name of the law in :data:`distillscale.laws.LAWS`.
    params : dict of str to float
        Natural parameter values (not logs), in the law's units.
    ci : dict of str to (float, float), or None
        Published confidence interval per parameter, when the paper gives them.
    ci_level : float or None
        Coverage of ``ci`` (0.9 for Busbridge et al., 0.95 for Besiroglu et al.).
    citation : str
        Paper, arXiv id and the table or equation the values come from.
    n_points : int or None
        Number of runs the set was fitted on, when published.
    notes : str
        Provenance, rounding and units.
    supervised : PublishedSet or None
        The supervised set whose law gives ``supervised_loss`` (distillation law only).
    param_count : {"non_embedding", "total", "unverified"}
        Which parameters ``params`` (N) counts in the data the set was fitted on.
    data_range : dict of str to (float, float), or None
        (min, max) of each input over the runs the set was fitted on, where known (optional
        key ``data_range``); ``predict`` and ``plan`` warn far outside it.
    """

    name: str
    law: str
    params: dict[str, float]
    ci: dict[str, tuple[float, float]] | None
    ci_level: float | None
    citation: str
    n_points: int | None
    notes: str
    supervised: PublishedSet | None
    param_count: ParamCount
    data_range: dict[str, tuple[float, float]] | None = None

    @property
    def law_obj(self) -> Law:
        """The :class:`~distillscale.laws.base.Law` instance of :attr:`law`."""
        return get_law(self.law)

    def predict(self, **x: ArrayLike) -> NDArray[np.float64]:
        """Predicted output at broadcast inputs (loss in nats per token, or error fraction).

        For the distillation law, ``supervised_loss`` is computed from :attr:`supervised` at the
        given ``params`` and ``tokens`` unless passed explicitly.
        """
        law = self.law_obj
        if "supervised_loss" in law.derived_inputs and "supervised_loss" not in x:
            if self.supervised is None:
                raise InputError(f"published set {self.name!r} has no supervised set")
            x["supervised_loss"] = self.supervised.predict(params=x["params"], tokens=x["tokens"])
        return law.predict(self.params, **x)


def _folder() -> Any:
    return resources.files(__name__)


def list_published() -> list[str]:
    """Names of every bundled set, sorted, without the ``@``."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in _folder().iterdir()
        if entry.name.endswith(".json")
    )


def load_published(name: str) -> PublishedSet:
    """Load a bundled set by name, with or without the leading ``@`` (``"@hoffmann2022"``).

    Raises
    ------
    InputError
        When no bundled set has that name; the message lists the available names.
    """
    key = name.strip().removeprefix("@").lower()
    available = list_published()
    if key not in available:
        raise InputError(
            f"unknown published coefficient set {name!r}; available: "
            f"{', '.join('@' + n for n in available)} (see `distillscale laws`)"
        )
    raw = json.loads(_folder().joinpath(f"{key}.json").read_text(encoding="utf-8"))
    return _from_document(raw, f"{key}.json")


def _from_document(raw: Mapping[str, Any], where: str) -> PublishedSet:
    """Build and check a :class:`PublishedSet` from one JSON document."""
    missing = [k for k in _KEYS if k not in raw]
    if missing:
        raise InputError(f"{where}: missing keys {', '.join(missing)}")
    law = get_law(raw["law"])
    params = {k: float(v) for k, v in raw["params"].items()}
    if set(params) != set(law.param_names):
        raise InputError(
            f"{where}: parameters {sorted(params)} do not match law {law.name!r} "
            f"({', '.join(law.param_names)})"
        )
    ci = None
    if raw["ci"] is not None:
        ci = {k: (float(v[0]), float(v[1])) for k, v in raw["ci"].items()}
        unknown = set(ci) - set(params)
        if unknown:
            raise InputError(f"{where}: intervals for unknown parameters {sorted(unknown)}")
    if raw["param_count"] not in _PARAM_COUNTS:
        raise InputError(
            f"{where}: param_count {raw['param_count']!r}; allowed: {', '.join(_PARAM_COUNTS)}"
        )
    supervised = None
    if raw["supervised"] is not None:
        supervised = load_published(raw["supervised"])
    if law.derived_inputs and supervised is None:
        raise InputError(f"{where}: law {law.name!r} needs a 'supervised' set")
    return PublishedSet(
        name=raw["name"],
        law=law.name,
        params=params,
        ci=ci,
        ci_level=None if raw["ci_level"] is None else float(raw["ci_level"]),
        citation=raw["citation"],
        n_points=None if raw["n_points"] is None else int(raw["n_points"]),
        notes=raw["notes"],
        supervised=supervised,
        param_count=cast(ParamCount, raw["param_count"]),
        data_range=_data_range(raw.get("data_range"), law, where),
    )


def _data_range(raw: Any, law: Law, where: str) -> dict[str, tuple[float, float]] | None:
    if raw is None:
        return None
    out = {k: (float(v[0]), float(v[1])) for k, v in raw.items()}
    if not set(out) <= set(law.inputs) or any(not lo <= hi for lo, hi in out.values()):
        raise InputError(f"{where}: data_range must give [low, high] for {law.inputs}")
    return out
