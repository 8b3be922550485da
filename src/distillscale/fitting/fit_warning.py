"""One warning about a fit, as data: what it is about, its text, and the fixes it names.

A :class:`FitWarning`'s text names fixes in Python terms (``fixed={'E': VALUE}``,
``bounds={'E': (LO, HI)}``); ``hints`` lists those fragments with the keyword argument each is
about, so that the command line (:func:`distillscale.cli.errors.cli_warning`) can write them as
flags (``--fix E=VALUE``, ``--bound E=LO:HI``).

The fit artifact keeps ``diagnostics.warnings`` a list of strings (the text), readable by every
version, and adds ``diagnostics.warning_details``, one ``{"code", "parameter", "hints"}`` object
per warning (docs/conventions.md). A warning read from an artifact without details, or given as
a plain string, has code :data:`TEXT`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CODES", "TEXT", "FitWarning", "read_warnings", "warning_details"]

#: A warning known only by its text (an artifact written before warnings had codes).
TEXT = "text"

#: Every code :func:`distillscale.fitting.diagnostics.diagnose` gives, and what it means.
CODES = {
    "not-converged": "the optimiser did not meet its tolerance",
    "at-bound": "a free parameter ended on a bound (the law's or bounds=)",
    "no-effect": "a parameter has no effect on the fitted runs (zero curvature)",
    "jacobian-not-finite": "the Jacobian is not finite at the optimum; no covariance",
    "ill-conditioned": "the scaled curvature's condition number is above 1e8",
    "flat-direction": "a parameter lies in a nearly flat direction of the objective",
    "correlated": "two parameters are almost perfectly correlated (|r| > 0.999)",
    "poorly-determined": "a parameter's relative standard error is above 100%",
    "wide-bootstrap": "a parameter's bootstrap interval is wider than its value",
    TEXT: "a warning known only by its text",
}


@dataclass(frozen=True, slots=True)
class FitWarning:
    """A warning about a fit.

    Parameters
    ----------
    code : str
        What kind of warning (a key of :data:`CODES`).
    message : str
        The whole text, fixes in Python terms: ``"E fitted at its lower bound 1.9 (value 1.9);
        its interval is unreliable: fix E (fixed={'E': VALUE}), ..."``.
    parameter : str, optional
        The parameter it is about (the first of a correlated pair).
    hints : tuple of (str, str)
        ``(option, fragment)``: each fix the message names, as the keyword argument of
        :func:`distillscale.fit` it concerns (``"fixed"``, ``"bounds"``) and the fragment of
        ``message`` that says it (``"fixed={'E': VALUE}"``).
    """

    code: str
    message: str
    parameter: str | None = None
    hints: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.message

    def details(self) -> dict[str, Any]:
        """The artifact's ``warning_details`` entry (the text is in ``warnings``)."""
        return {
            "code": self.code,
            "parameter": self.parameter,
            "hints": [list(h) for h in self.hints],
        }


def warning_details(warnings: Sequence[FitWarning]) -> list[dict[str, Any]]:
    """``diagnostics.warning_details``: one entry per warning, in order."""
    return [w.details() for w in warnings]


def read_warnings(
    texts: Sequence[str], details: Sequence[Any] | None, where: str = "fit"
) -> tuple[FitWarning, ...]:
    """The warnings of an artifact: its ``warnings`` texts with their ``warning_details``.

    Without details (an artifact written before them) each text becomes a :data:`TEXT` warning.

    Raises
    ------
    InputError
        When the details do not pair one to one with the texts, or an entry is malformed
        (naming ``where`` and the key).
    """
    from distillscale.errors import InputError

    if details is None:
        return tuple(FitWarning(TEXT, str(t)) for t in texts)
    key = "diagnostics.warning_details"
    if not isinstance(details, list) or len(details) != len(texts):
        raise InputError(
            f"{where}: key {key!r} is malformed: expected a list of {len(texts)} objects, one "
            "per entry of 'diagnostics.warnings'"
        )
    out = []
    for i, (text, raw) in enumerate(zip(texts, details, strict=True)):
        try:
            code, parameter, hints = raw["code"], raw.get("parameter"), raw.get("hints", [])
            if not isinstance(code, str) or not isinstance(parameter, str | None):
                raise TypeError
            pairs = tuple((str(o), str(f)) for o, f in hints if isinstance(o, str) and f in text)
            if len(pairs) != len(hints):
                raise ValueError
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(
                f"{where}: key '{key}[{i}]' is malformed: found {raw!r:.60}; expected "
                '{"code": str, "parameter": str or null, "hints": [[option, fragment of the '
                "warning's text], ...]}"
            ) from None
        out.append(FitWarning(code, str(text), parameter, pairs))
    return tuple(out)
