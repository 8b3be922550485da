"""Public run tables installed with the package, usable as ``example:NAME`` wherever a table is.

Two tables whose licences allow redistribution ship inside the package (so they work after
``pip install``, outside the repository):

* ``data_constrained``: 296 runs of Muennighoff et al. 2023 (final C4 validation loss, nats per
  token; ``params``, ``tokens`` with repeats, ``unique_tokens``, ``epochs``), Apache-2.0
  (``LICENSE-Apache-2.0.txt``).
* ``loss_curves``: 27 training-loss curves of Luo et al. 2025 (``step``, ``lr``, training
  ``loss`` in nats per token), MIT (``LICENSE-MIT-MultiPowerLaw.txt``).

Provenance and columns: ``docs/fitting.md`` (section "Example tables"). The Chinchilla and
Gadre et al. tables have no licence and stay in the repository's ``examples/data/``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from distillscale.errors import InputError

__all__ = ["PREFIX", "TABLES", "path", "resolve"]

#: The prefix that names a packaged table in place of a file path.
PREFIX = "example:"

#: Name -> (file, one-line description).
TABLES: dict[str, tuple[str, str]] = {
    "data_constrained": (
        "data_constrained.csv",
        "296 runs of Muennighoff et al. 2023 on repeated data (Apache-2.0)",
    ),
    "loss_curves": (
        "loss_curves.csv",
        "27 training-loss curves of Luo et al. 2025, 9 schedules x 3 sizes (MIT)",
    ),
}


def path(name: str) -> Path:
    """The installed file of the packaged table ``name`` (``"data_constrained"``).

    Raises
    ------
    InputError
        For a name that is not a packaged table (the message lists them).
    """
    if name not in TABLES:
        raise InputError(
            f"{PREFIX}{name}: no such packaged table; available: "
            + ", ".join(f"{PREFIX}{n}" for n in TABLES)
        )
    return Path(str(resources.files(__name__).joinpath(TABLES[name][0])))


def resolve(source: str) -> str:
    """``"example:NAME"`` -> the installed file's path; any other source unchanged."""
    if source.startswith(PREFIX):
        return str(path(source[len(PREFIX) :]))
    return source
