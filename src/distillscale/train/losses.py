"""Next-token and distillation losses, in nats per token.

The training objective of a distilled student (Busbridge et al. 2025 Eq. 6/7; docs/references.md:
KD losses):

    L = (1 - lambda) * CE(z_S, y) + lambda * s(tau) * mean_t D(p_tau, q_tau)

with ``p_tau = softmax(z_T / tau)`` (teacher), ``q_tau = softmax(z_S / tau)`` (student),
``s(tau) = tau^2`` when ``tau2_scaling`` (Hinton et al. 2015) else 1, and ``D`` one of the
divergences of docs/references.md: KD losses. Every divergence here is zero when ``p == q``;
forward KL is
``KL(p || q)``, which differs from Apple's cross-entropy form ``-sum p log q`` by the teacher
entropy, a constant with no gradient.

Truncated teachers (``top_k``; docs/references.md: KD losses) keep the teacher's k most likely
tokens:

* ``renormalize``: the teacher is renormalised over the kept set, the student keeps its full
  distribution (reverse KL is then infinite and is refused by :class:`KDConfig`);
* ``bucket``: both distributions are reduced to the k kept tokens plus one bucket with the rest
  of the mass. The teacher's remaining mass is floored at ``exp(-69)`` (about 1e-30) so that
  student-weighted divergences stay finite when the kept set holds all of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from distillscale.errors import InputError
from distillscale.runs.config import KDConfig

__all__ = ["SparseTeacher", "distillation_loss", "divergence", "sparse_teacher"]

#: Floor of the teacher's log remaining mass in bucket mode (nats), about 1e-30 in mass.
LOG_REST_FLOOR = -69.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SparseTeacher:
    """A truncated teacher distribution at temperature tau.

    Parameters
    ----------
    logp : Tensor, (..., k)
        Log-probabilities (nats) of the kept tokens under the full ``softmax(z_T / tau)``.
    index : Tensor, (..., k), int64
        Their token ids.
    log_rest : Tensor, (...)
        Log of the probability mass outside the kept set (nats).
    temperature : float
        The tau these log-probabilities were computed at (the logit cache stores tau = 1).
    """

    logp: torch.Tensor
    index: torch.Tensor
    log_rest: torch.Tensor
    temperature: float = 1.0


def _kl(logp: torch.Tensor, logr: torch.Tensor) -> torch.Tensor:
    """``sum_v p_v (log p_v - log r_v)`` over the last dim, with ``0 log 0 = 0``."""
    p = logp.exp()
    return torch.where(p > 0, p * (logp - logr), torch.zeros_like(p)).sum(-1)


def divergence(logp: torch.Tensor, logq: torch.Tensor, kd: KDConfig) -> torch.Tensor:
    """Divergence ``D(p, q)`` per position, nats.

    Parameters
    ----------
    logp : Tensor, (..., V)
        Teacher log-probabilities; ``-inf`` marks tokens with zero teacher mass.
    logq : Tensor, (..., V)
        Student log-probabilities (finite).
    kd : KDConfig
        Chooses the divergence (``loss``) and its ``skew`` / ``js_beta``.

    Returns
    -------
    Tensor, (...)
        The divergence at each position (nats), >= 0, zero where ``p == q``.
    """
    name = kd.loss
    if name == "forward-kl":
        return _kl(logp, logq)
    if name == "reverse-kl":
        return _kl(logq, logp)
    if name == "tv":
        return 0.5 * (logp.exp() - logq.exp()).abs().sum(-1)
    if name == "skew-forward-kl":  # KL(p || s p + (1 - s) q), DistiLLM SKL
        s = kd.skew
        logm = torch.logaddexp(logp + math.log(s), logq + math.log1p(-s))
        return _kl(logp, logm)
    if name == "skew-reverse-kl":  # KL(q || (1 - s) p + s q), DistiLLM SRKL
        s = kd.skew
        logm = torch.logaddexp(logp + math.log1p(-s), logq + math.log(s))
        return _kl(logq, logm)
    if name == "js":  # GKD generalised JSD: b KL(p || m) + (1 - b) KL(q || m)
        b = kd.js_beta
        logm = torch.logaddexp(logp + math.log(b), logq + math.log1p(-b))
        return b * _kl(logp, logm) + (1 - b) * _kl(logq, logm)
    raise AssertionError(f"unhandled divergence {name}")  # KDConfig validated the name


def sparse_teacher(teacher_logits: torch.Tensor, k: int, temperature: float) -> SparseTeacher:
    """Keep the top ``k`` tokens of ``softmax(teacher_logits / temperature)``.

    Parameters
    ----------
    teacher_logits : Tensor, (..., V)
        Teacher logits.
    k : int
        Tokens kept per position, ``k < V``.
    temperature : float
        tau.

    Returns
    -------
    SparseTeacher
        Kept log-probabilities (fp32), ids and the log of the remaining mass.
    """
    logp = F.log_softmax(teacher_logits.float() / temperature, dim=-1)  # (..., V)
    top, index = logp.topk(k, dim=-1)  # (..., k)
    log_rest = torch.logsumexp(logp.scatter(-1, index, float("-inf")), dim=-1)  # (...)
    return SparseTeacher(logp=top, index=index, log_rest=log_rest, temperature=temperature)


def _sparse_terms(
    teacher: SparseTeacher, logq: torch.Tensor, mode: str, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher and student log-probabilities on the support the truncation mode defines."""
    top = teacher.logp.float()
    if mode == "renormalize":
        # log p_v / tau differs from z_v / tau by a constant, so renormalising over the kept
        # set gives softmax(z_K / tau) exactly, whatever tau the teacher was stored at
        top = top * (teacher.temperature / temperature)
        kept = top - torch.logsumexp(top, dim=-1, keepdim=True)  # (..., k), sums to 1
        logp = torch.full_like(logq, float("-inf")).scatter(-1, teacher.index, kept)  # (..., V)
        return logp, logq
    if teacher.temperature != temperature:
        raise InputError(
            f"kd.temperature: {temperature} but the truncated teacher (logit cache) holds "
            f"tau={teacher.temperature} log-probabilities; its remaining mass at another tau is "
            "unknown: use top_k_mode 'renormalize', temperature "
            f"{teacher.temperature}, or an online teacher"
        )
    log_rest = teacher.log_rest.float().clamp(min=LOG_REST_FLOOR).unsqueeze(-1)  # (..., 1)
    q_rest = torch.logsumexp(logq.scatter(-1, teacher.index, float("-inf")), -1, keepdim=True)
    logp = torch.cat([top, log_rest], dim=-1)  # (..., k + 1)
    return logp, torch.cat([logq.gather(-1, teacher.index), q_rest], dim=-1)  # (..., k + 1)


def distillation_loss(
    student_logits: torch.Tensor,
    targets: torch.Tensor,
    kd: KDConfig | None,
    *,
    teacher_logits: torch.Tensor | None = None,
    teacher_sparse: SparseTeacher | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The training objective and its two parts, each a mean over positions (nats per token).

    Parameters
    ----------
    student_logits : Tensor, (B, T, V)
        Student logits.
    targets : Tensor, (B, T), int64
        Next tokens.
    kd : KDConfig or None
        Distillation settings; None trains on next-token cross-entropy alone.
    teacher_logits : Tensor, (B, T, V), optional
        Full teacher logits (online teacher); truncated here if ``kd.top_k``.
    teacher_sparse : SparseTeacher, optional
        A truncated teacher (the logit cache, stored at tau = 1).

    Returns
    -------
    tuple
        ``(objective, cross_entropy, kd_term)``; ``kd_term`` is the unscaled mean divergence
        (None without ``kd``). The objective is what is differentiated.
    """
    V = student_logits.size(-1)
    if kd is None:
        ce = F.cross_entropy(student_logits.reshape(-1, V).float(), targets.reshape(-1))
        return ce, ce, None
    tau = kd.temperature
    logq = F.log_softmax(student_logits.float() / tau, dim=-1)  # (B, T, V)
    if tau == 1.0:  # reuse the student's log-softmax for the cross-entropy
        ce = F.nll_loss(logq.reshape(-1, V), targets.reshape(-1))
    else:
        ce = F.cross_entropy(student_logits.reshape(-1, V).float(), targets.reshape(-1))
    if teacher_sparse is None and teacher_logits is not None and kd.top_k is not None:
        teacher_sparse = sparse_teacher(teacher_logits, kd.top_k, tau)
    if teacher_sparse is not None and kd.top_k_mode == "renormalize" and kd.loss == "forward-kl":
        # KL(p' || q) only sums over the kept set, where p' > 0: no (B, T, V) teacher tensor
        top = teacher_sparse.logp.float() * (teacher_sparse.temperature / tau)  # (..., k)
        kept = top - torch.logsumexp(top, dim=-1, keepdim=True)
        logp, logq = kept, logq.gather(-1, teacher_sparse.index)  # (..., k) each
    elif teacher_sparse is not None:
        logp, logq = _sparse_terms(teacher_sparse, logq, kd.top_k_mode, tau)
    elif teacher_logits is not None:
        logp = F.log_softmax(teacher_logits.float() / tau, dim=-1)  # (B, T, V)
    else:
        raise ValueError("distillation_loss: kd is set but no teacher logits were given")
    kd_term = divergence(logp, logq, kd).mean()
    scale = tau * tau if kd.tau2_scaling else 1.0
    objective = (1.0 - kd.weight) * ce + kd.weight * scale * kd_term
    return objective, ce, kd_term
