"""Progress of a running study: one live view on a terminal, one log line per event elsewhere.

The view counts runs done / running / failed / total and FLOPs done / total (operations),
estimates the time left from the FLOP rate of this session, and shows the current training loss
(nats per token) of each running run. Off a terminal (CI, ``2> log``) each start, finish and
failure is one plain line instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from distillscale.runs.result import ProgressEvent

__all__ = ["StudyProgress", "format_flops", "format_seconds"]


def format_flops(flops: float) -> str:
    """FLOPs (operations) as ``3.2e15``."""
    return f"{flops:.2e}".replace("e+", "e")


def format_seconds(seconds: float | None) -> str:
    """A duration as ``1h02m``, ``4m05s`` or ``12s``; ``?`` when unknown."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


@dataclass
class _Running:
    label: str
    planned: float
    flops: float = 0.0
    loss: float | None = None
    step: int = 0
    steps: int = 0


@dataclass
class StudyProgress:
    """Counts and renders a study's progress on ``console`` (stderr).

    Parameters
    ----------
    console : Console
        Where to render (the CLI's stderr console).
    total_runs : int
        Tasks in the study (runs and caches).
    total_flops : float
        Planned FLOPs of the whole study (operations).
    live : bool or None
        Live view; None decides from ``console.is_terminal``.
    """

    console: Console
    total_runs: int
    total_flops: float
    live: bool | None = None
    done: int = 0
    failed: int = 0
    flops_done: float = 0.0
    _running: dict[str, _Running] = field(default_factory=dict)
    _start: float = field(default_factory=time.monotonic)
    _flops_session: float = 0.0
    _live: Live | None = None
    _last_render: float = 0.0

    def __enter__(self) -> StudyProgress:
        if self.live is None:
            self.live = self.console.is_terminal
        if self.live:
            self._live = Live(
                self._render(), console=self.console, refresh_per_second=4, transient=False
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)
            self._live = None

    # --- events -----------------------------------------------------------------------
    def skipped(self, label: str, planned: float) -> None:
        """A task already finished in an earlier session."""
        self.done += 1
        self.flops_done += planned
        self._line(f"done earlier  {label}")

    def started(self, node_id: str, label: str, planned: float, attempt: int) -> None:
        """A task was handed to a worker."""
        self._running[node_id] = _Running(label=label, planned=planned)
        self._line(f"start  {label}  ({format_flops(planned)} FLOPs, attempt {attempt})")

    def step(self, node_id: str, event: ProgressEvent) -> None:
        """A running task reported a training step."""
        run = self._running.get(node_id)
        if run is None:
            return
        run.flops = min(event.flops, run.planned) if run.planned > 0 else event.flops
        run.loss = event.train_loss
        run.step, run.steps = event.step, event.steps
        self._refresh()

    def finished(
        self, node_id: str, *, ok: bool, detail: str, final: bool = True, label: str | None = None
    ) -> None:
        """A task ended: ``ok``, or failed (``final``: no retry left)."""
        run = self._running.pop(node_id, None)
        label = run.label if run is not None else (label or node_id)
        if ok:
            self.done += 1
            planned = run.planned if run is not None else 0.0
            self.flops_done += planned
            self._flops_session += planned
            self._line(f"done   {label}  {detail}")
        else:
            if final:
                self.failed += 1
            self._line(f"{'FAILED' if final else 'retry '} {label}  {detail}")
        self._refresh()

    # --- rendering --------------------------------------------------------------------
    @property
    def running_flops(self) -> float:
        """FLOPs done so far by running tasks (operations)."""
        return sum(r.flops for r in self._running.values())

    def eta(self) -> float | None:
        """Seconds left at this session's FLOP rate; None before any progress."""
        elapsed = time.monotonic() - self._start
        done_here = self._flops_session + self.running_flops
        if done_here <= 0 or elapsed <= 0:
            return None
        left = max(self.total_flops - self.flops_done - self.running_flops, 0.0)
        return left / (done_here / elapsed)

    def summary(self) -> str:
        """One line: runs and FLOPs done, failures, ETA."""
        flops = self.flops_done + self.running_flops
        return (
            f"runs {self.done}/{self.total_runs} done, {len(self._running)} running, "
            f"{self.failed} failed | FLOPs {format_flops(flops)}/{format_flops(self.total_flops)}"
            f" | ETA {format_seconds(self.eta())}"
        )

    def _render(self) -> Group:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("running")
        table.add_column("step", justify="right")
        table.add_column("loss (nats)", justify="right")
        for run in self._running.values():
            loss = f"{run.loss:.4f}" if run.loss is not None else "-"
            table.add_row(run.label, f"{run.step}/{run.steps}", loss)
        return Group(Text(self.summary(), style="bold"), table)

    def _refresh(self) -> None:
        if self._live is not None:
            now = time.monotonic()
            if now - self._last_render > 0.2:
                self._last_render = now
                self._live.update(self._render())

    def _line(self, message: str) -> None:
        if self._live is not None:
            self._live.console.print(message, highlight=False)
            self._refresh()
        else:
            self.console.print(
                f"[{format_seconds(time.monotonic() - self._start)}] {message} | {self.summary()}",
                highlight=False,
                soft_wrap=True,
            )
