"""Verdicts on measured runs: a distilled student against its compute-matched supervised baseline.

A study trains both; this module says which won (the measured margin) and, given the fitted
supervised and distillation laws, which the laws predict. Losses are nats per token, sizes are
parameters as the study counts them, tokens are counts. The choice of runs (which student is
best, which baseline is matched) is the study's; the verdicts are planning's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillscale.fitting.result import Fit

__all__ = ["MeasuredComparison", "compare_measured", "verdict_of"]


def verdict_of(margin: float) -> str:
    """``"distill"`` when ``margin = L_sup - L_distilled`` (nats per token) is positive."""
    return "distill" if margin > 0 else "supervised"


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasuredComparison:
    """The best measured distilled student of one size and token budget, and its verdicts.

    Parameters
    ----------
    student_params, student_tokens : float
        N_S (parameters) and D_S (tokens) of the student.
    teacher_run, teacher_label : str or None
        The best student's teacher: its run id and its label (for the text).
    teacher_loss, teacher_params : float or None
        L_T (nats per token) and N_T (parameters) of that teacher.
    distilled_loss : float
        The student's measured loss (nats per token).
    supervised_loss, supervised_tokens : float or None
        The matched baseline's measured loss and tokens; None when no baseline finished.
    predicted_distilled, predicted_supervised : float or None
        The fitted laws' losses for the same two runs; None without both fits and a baseline.
    """

    student_params: float
    student_tokens: float
    teacher_run: str | None
    teacher_label: str | None
    teacher_loss: float | None
    teacher_params: float | None
    distilled_loss: float
    supervised_loss: float | None
    supervised_tokens: float | None
    predicted_distilled: float | None = None
    predicted_supervised: float | None = None

    @property
    def margin(self) -> float | None:
        """Measured ``L_sup - L_distilled`` (nats per token); None without a baseline."""
        return None if self.supervised_loss is None else self.supervised_loss - self.distilled_loss

    @property
    def verdict(self) -> str | None:
        """Measured verdict (:func:`verdict_of` the margin); None without a baseline."""
        return None if self.margin is None else verdict_of(self.margin)

    @property
    def predicted_verdict(self) -> str | None:
        """The fitted laws' verdict; None when there is no prediction."""
        if self.predicted_distilled is None or self.predicted_supervised is None:
            return None
        return verdict_of(self.predicted_supervised - self.predicted_distilled)

    def to_json(self) -> dict[str, Any]:
        """One ``plan.json`` student entry (docs/studies.md); ``predicted_*`` only when fitted."""
        doc: dict[str, Any] = {
            "student_params": self.student_params,
            "student_tokens": self.student_tokens,
            "best_teacher_run": self.teacher_run,
            "best_teacher_loss": self.teacher_loss,
            "best_teacher_params": self.teacher_params,
            "student_loss_distilled": self.distilled_loss,
            "student_loss_supervised": self.supervised_loss,
            "supervised_tokens": self.supervised_tokens,
            "margin": self.margin,
            "verdict": self.verdict,
        }
        if self.predicted_verdict is not None:
            doc["predicted_distilled"] = self.predicted_distilled
            doc["predicted_supervised"] = self.predicted_supervised
            doc["predicted_verdict"] = self.predicted_verdict
        return doc

    def text(self) -> str:
        """One line for the study summary and ``plan.json``'s ``text``."""
        n_s, d_s, l_dist = self.student_params, self.student_tokens, self.distilled_loss
        teacher_text = (
            f"teacher {self.teacher_label} (L_T {self.teacher_loss:.3f})"
            if self.teacher_label is not None and self.teacher_loss is not None
            else "its teacher"
        )
        if self.margin is None or self.verdict is None:
            return (
                f"N_S={n_s:.3g}, D_S={d_s:.3g}: best distilled {l_dist:.3f} nats from "
                f"{teacher_text}; no finished compute-matched baseline to compare"
            )
        predicted = ""
        if self.predicted_verdict is not None:
            predicted = (
                f"; the fitted laws predict {self.predicted_distilled:.3f} vs "
                f"{self.predicted_supervised:.3f} ({self.predicted_verdict})"
            )
        return (
            f"N_S={n_s:.3g}, D_S={d_s:.3g}: {self.verdict.upper()}: distilled from "
            f"{teacher_text} {l_dist:.3f} vs supervised {self.supervised_loss:.3f} nats at "
            f"matched compute (margin {self.margin:+.3f})" + predicted
        )


def compare_measured(
    *,
    student_params: float,
    student_tokens: float,
    distilled_loss: float,
    teacher_run: str | None = None,
    teacher_label: str | None = None,
    teacher_loss: float | None = None,
    teacher_params: float | None = None,
    supervised_loss: float | None = None,
    supervised_tokens: float | None = None,
    supervised: Fit | None = None,
    distillation: Fit | None = None,
) -> MeasuredComparison:
    """Compare a measured distilled student with its matched baseline, and with the laws.

    The laws' prediction is made when both fits, the baseline and the teacher's loss are given:
    the distillation fit at (N_S, D_S, L_T) against the supervised fit at (N_S, baseline
    tokens).

    Returns
    -------
    MeasuredComparison
        Measured margin and verdict, and the predicted losses and verdict when fitted.
    """
    pred_d = pred_s = None
    if (
        supervised is not None
        and distillation is not None
        and supervised_tokens is not None
        and supervised_loss is not None
        and teacher_loss is not None
    ):
        pred_d = float(
            distillation.predict(
                params=float(student_params),
                tokens=float(student_tokens),
                teacher_loss=float(teacher_loss),
            )
        )
        pred_s = float(
            supervised.predict(params=float(student_params), tokens=float(supervised_tokens))
        )
    return MeasuredComparison(
        student_params=student_params,
        student_tokens=student_tokens,
        teacher_run=teacher_run,
        teacher_label=teacher_label,
        teacher_loss=teacher_loss,
        teacher_params=teacher_params,
        distilled_loss=distilled_loss,
        supervised_loss=supervised_loss,
        supervised_tokens=supervised_tokens,
        predicted_distilled=pred_d,
        predicted_supervised=pred_s,
    )
