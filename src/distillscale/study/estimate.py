"""Wall-time estimate of a study for ``--dry-run``: FLOPs over a throughput.

The throughput (training FLOPs per second per worker) is the spec's ``throughput:`` when given;
otherwise it is measured here by timing a few optimiser steps of each model shape whose step is
cheap enough to time (torch is imported only then). Evaluation passes are added at forward cost;
a fixed start-up cost per task covers process start, data loading and checkpointing. Runs are
assumed to pack perfectly onto the workers, bounded below by the teacher -> cache -> student
critical path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from distillscale.flops import forward_flops_per_token
from distillscale.study.graph import CacheNode, RunNode, StudyGraph
from distillscale.study.spec import StudySpec
from distillscale.study.worker import measure_throughput

__all__ = ["Estimate", "estimate_wall_time", "measure_throughput"]

log = logging.getLogger(__name__)

#: Shapes whose training step costs more than this (FLOPs) are not timed on this machine.
MAX_TIMED_STEP_FLOPS = 5e10
#: Seconds per task for process start, data loading, evaluation set-up and checkpoints.
TASK_OVERHEAD_SECONDS = 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate:
    """Estimated wall time of a study.

    Parameters
    ----------
    seconds : float or None
        Wall-clock seconds with ``workers`` workers; None when no throughput is known.
    throughput : dict
        Model depth -> training FLOPs per second per worker used.
    source : str
        ``"spec"``, ``"measured"`` or ``"unknown"``.
    task_seconds : float
        Sum of all tasks' seconds (one worker).
    critical_path_seconds : float
        Longest teacher -> cache -> student chain (seconds).
    """

    seconds: float | None
    throughput: dict[int, float]
    source: str
    task_seconds: float
    critical_path_seconds: float


def _rates(spec: StudySpec, graph: StudyGraph) -> tuple[dict[int, float], str]:
    depths = sorted({r.depth for r in graph.runs})
    if spec.throughput is not None:
        return {d: float(spec.throughput) for d in depths}, "spec"
    shapes = {r.depth: r.config.shape for r in graph.runs}
    per_step = spec.training.batch_size * spec.data.seq_len
    rates: dict[int, float] = {}
    for depth in depths:
        if 3.0 * forward_flops_per_token(shapes[depth]) * per_step > MAX_TIMED_STEP_FLOPS:
            continue
        rates[depth] = measure_throughput(
            shapes[depth], spec.training.batch_size, spec.executor.threads
        )
    if not rates:
        return {}, "unknown"
    largest = rates[max(rates)]
    return {d: rates.get(d, largest) for d in depths}, "measured"


def _task_seconds(node: RunNode | CacheNode, graph: StudyGraph, rates: dict[int, float]) -> float:
    if isinstance(node, CacheNode):
        teacher = next(r for r in graph.runs if r.run_id == node.teacher_run)
        return TASK_OVERHEAD_SECONDS + node.ledger.total / rates[teacher.depth]
    config = node.config
    n_evals = 1 + (config.steps // config.eval_every if config.eval_every else 0)
    eval_flops = forward_flops_per_token(config.shape) * config.eval_tokens * n_evals
    return TASK_OVERHEAD_SECONDS + (node.ledger.total + eval_flops) / rates[node.depth]


def estimate_wall_time(spec: StudySpec, graph: StudyGraph) -> Estimate:
    """Estimate a study's wall time (see module docstring)."""
    rates, source = _rates(spec, graph)
    if not rates:
        return Estimate(
            seconds=None,
            throughput={},
            source="unknown",
            task_seconds=0.0,
            critical_path_seconds=0.0,
        )
    seconds = {graph.node_id(n): _task_seconds(n, graph, rates) for n in graph.nodes()}
    nodes = graph.by_id()
    finish: dict[str, float] = {}
    for node_id, node in nodes.items():  # topological order: dependencies come first
        start = max((finish[d] for d in node.depends), default=0.0)
        finish[node_id] = start + seconds[node_id]
    total = sum(seconds.values())
    critical = max(finish.values(), default=0.0)
    wall = max(total / spec.executor.workers, critical)
    return Estimate(
        seconds=wall,
        throughput=rates,
        source=source,
        task_seconds=total,
        critical_path_seconds=critical,
    )
