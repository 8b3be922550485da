"""Why a run stopped: failure kinds as the first words of a stored ``failure_reason``.

A failure reason is one line of text kept in the run store and shown to users, e.g.
``"interrupted: rerun to resume"`` or ``"diverged at step 12: ..."``. Its leading words name its
:class:`FailureKind`; :func:`format_failure` writes a reason and :func:`parse_failure` reads the
kind back, so no caller matches prefixes by hand. A reason of no known kind (a crash's
message) parses to ``None``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CUT_SHORT", "FailureKind", "format_failure", "is_cut_short", "parse_failure"]


class FailureKind(StrEnum):
    """The kinds of failure reason; the value is the reason's leading words."""

    #: a signal stopped the run; it resumes from its last checkpoint
    interrupted = "interrupted"
    #: the worker holding the run stopped sending heartbeats
    lease_expired = "lease expired"
    #: a write found the file system full (:func:`distillscale.errors.disk_full_message`)
    disk_full = "disk full"
    #: a file the run reads is damaged and is being rebuilt; the run waits for it
    waiting = "waiting"
    #: the run wrote a file found damaged; it is being built again
    rebuilding = "rebuilding"
    #: the run store could not be reached within its retry bound
    store_unreachable = "store unreachable"
    #: a dependency of the run failed, so it never started
    not_run = "not run"
    #: the run's loss was not finite or ran away; retrying cannot help
    diverged = "diverged"


#: Attempts cut short through no fault of the run (not counted against its attempts).
CUT_SHORT: frozenset[FailureKind] = frozenset(
    {
        FailureKind.interrupted,
        FailureKind.lease_expired,
        FailureKind.disk_full,
        FailureKind.waiting,
    }
)


def format_failure(kind: FailureKind, detail: str) -> str:
    """The stored reason ``"<kind>: <detail>"``."""
    return f"{kind.value}: {detail}"


def parse_failure(reason: str | None) -> tuple[FailureKind | None, str]:
    """The kind of a stored reason and the rest of it; ``(None, reason)`` for any other text.

    A reason is of a kind when it is the kind's words alone or they are followed by ``:`` or a
    space (``"diverged at step 12: ..."`` is ``diverged``).
    """
    text = reason or ""
    for kind in FailureKind:
        word = kind.value
        if text == word:
            return kind, ""
        if text.startswith(word) and text[len(word)] in ": ":
            return kind, text[len(word) :].removeprefix(":").strip()
    return None, text


def is_cut_short(reason: str | None) -> bool:
    """Whether ``reason`` is of a kind in :data:`CUT_SHORT`."""
    return parse_failure(reason)[0] in CUT_SHORT
