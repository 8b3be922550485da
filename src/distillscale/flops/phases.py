"""FLOPs by phase: training, teacher inference, logit caching, and Busbridge Eq. 9 scenarios.

* Training costs three forward passes per token (backward = 2 x forward):
  ``3 * F * tokens``.
* Teacher inference: one teacher forward per distillation token, ``F_T * D_S``.
* Logit caching: one teacher forward per cached token, charged to the cache (students reading
  the cache then pay no teacher inference).

Scenario totals follow Busbridge et al. (2025) Eq. 9:
``C = 3 F(N_S) D_S + F(N_T) (delta_Lgt D_S + delta_Pre 3 D_T)``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal, get_args

from distillscale.errors import InputError
from distillscale.flops.count import forward_flops_per_token
from distillscale.flops.shape import TransformerShape

__all__ = [
    "SCENARIOS",
    "FlopsLedger",
    "Scenario",
    "logit_cache_flops",
    "scenario_flops",
    "teacher_inference_flops",
    "training_flops",
]

Scenario = Literal[
    "teacher-free", "teacher-inference", "teacher-pretraining", "teacher-pretraining-inference"
]
#: Scenario names, in the order of Busbridge et al. Table 2.
SCENARIOS: tuple[str, ...] = get_args(Scenario)

# scenario -> (delta_T^Lgt, delta_T^Pre), Busbridge et al. 2025 Eq. 9 / Table 2
_SWITCHES: dict[str, tuple[int, int]] = {
    "teacher-free": (0, 0),
    "teacher-inference": (1, 0),
    "teacher-pretraining": (0, 1),
    "teacher-pretraining-inference": (1, 1),
}


def _tokens(tokens: float, where: str) -> float:
    value = float(tokens)
    if not value >= 0 or value == float("inf"):
        raise InputError(f"{where}: tokens={tokens!r} must be a finite count >= 0")
    return value


def training_flops(shape: TransformerShape, tokens: float, *, exact: bool = True) -> float:
    """Training FLOPs: ``3 * forward_flops_per_token * tokens``.

    Parameters
    ----------
    shape : TransformerShape
        The trained model.
    tokens : float
        Training tokens, repeats included (count).
    exact : bool
        Exact forward count, or ``2N`` (see :func:`forward_flops_per_token`).

    Returns
    -------
    float
        Training FLOPs (operations).
    """
    return 3.0 * forward_flops_per_token(shape, exact) * _tokens(tokens, "training_flops")


def teacher_inference_flops(
    teacher: TransformerShape, tokens: float, *, exact: bool = True
) -> float:
    """Teacher forward passes over the distillation tokens: ``F_T * tokens``.

    Parameters
    ----------
    teacher : TransformerShape
        The teacher.
    tokens : float
        Student distillation tokens that need teacher logits (count).
    exact : bool
        Exact forward count, or ``2N``.

    Returns
    -------
    float
        Teacher inference FLOPs (operations).
    """
    return forward_flops_per_token(teacher, exact) * _tokens(tokens, "teacher_inference_flops")


def logit_cache_flops(teacher: TransformerShape, tokens: float, *, exact: bool = True) -> float:
    """Cost of caching teacher logits: one teacher forward per cached token.

    Parameters
    ----------
    teacher : TransformerShape
        The teacher.
    tokens : float
        Tokens whose logits are cached (count), each computed once.
    exact : bool
        Exact forward count, or ``2N``.

    Returns
    -------
    float
        Logit-cache FLOPs (operations), charged to the cache, not to the students reading it.
    """
    return forward_flops_per_token(teacher, exact) * _tokens(tokens, "logit_cache_flops")


@dataclass(frozen=True, slots=True, kw_only=True)
class FlopsLedger:
    """FLOPs by phase (operations). Ledgers add phase by phase.

    Parameters
    ----------
    student_training : float
        Training the distilled student(s).
    teacher_training : float
        Pre-training the teacher(s).
    teacher_inference : float
        Teacher forwards during distillation (online, no cache).
    logit_cache : float
        Teacher forwards to fill a logit cache.
    supervised_training : float
        Training supervised (teacher-free) baselines.
    """

    student_training: float = 0.0
    teacher_training: float = 0.0
    teacher_inference: float = 0.0
    logit_cache: float = 0.0
    supervised_training: float = 0.0

    @property
    def total(self) -> float:
        """Sum over all phases (operations)."""
        return (
            self.student_training
            + self.teacher_training
            + self.teacher_inference
            + self.logit_cache
            + self.supervised_training
        )

    def __add__(self, other: object) -> FlopsLedger:
        if not isinstance(other, FlopsLedger):
            return NotImplemented
        return FlopsLedger(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def as_dict(self) -> dict[str, float]:
        """Phases and ``total`` as plain floats (for JSON and the run store)."""
        out = {f.name: float(getattr(self, f.name)) for f in fields(self)}
        out["total"] = float(self.total)
        return out


def scenario_flops(
    f_student: float,
    f_teacher: float,
    d_student: float,
    d_teacher: float,
    scenario: str,
) -> FlopsLedger:
    """Total compute of one distillation scenario, Busbridge et al. (2025) Eq. 9.

    Parameters
    ----------
    f_student, f_teacher : float
        Forward FLOPs per token of student and teacher (operations per token).
    d_student : float
        Student distillation tokens (count).
    d_teacher : float
        Teacher pre-training tokens (count).
    scenario : str
        One of :data:`SCENARIOS`: ``teacher-free`` (teacher given, logits free),
        ``teacher-inference``, ``teacher-pretraining``, ``teacher-pretraining-inference``.

    Returns
    -------
    FlopsLedger
        ``student_training = 3 f_S D_S``, ``teacher_inference = delta_Lgt f_T D_S``,
        ``teacher_training = delta_Pre 3 f_T D_T``; ``.total`` is Eq. 9.
    """
    if scenario not in _SWITCHES:
        raise InputError(f"scenario: {scenario!r} is not known; use one of {', '.join(SCENARIOS)}")
    lgt, pre = _SWITCHES[scenario]
    return FlopsLedger(
        student_training=3.0 * f_student * d_student,
        teacher_inference=lgt * f_teacher * d_student,
        teacher_training=pre * 3.0 * f_teacher * d_teacher,
    )
