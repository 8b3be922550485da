from __future__ import annotations

from rich.console import Console

from distillscale.runs.result import ProgressEvent
from distillscale.study.progress import StudyProgress, format_flops, format_seconds


def _event(step: int, loss: float) -> ProgressEvent:
    return ProgressEvent(
        run_id="r1", step=step, steps=10, tokens=step * 100, train_loss=loss, val_loss=None,
        lr=1e-3, tokens_per_second=1e4, flops=step * 1e9,
    )  # fmt: skip


def test_plain_lines_off_a_terminal_count_runs_and_flops():
    console = Console(record=True, width=300, force_terminal=False)
    with StudyProgress(console=console, total_runs=3, total_flops=3e10) as progress:
        progress.skipped("teacher d1", 1e10)
        progress.started("r1", "student d1<d1", 1e10, attempt=1)
        progress.step("r1", _event(5, 2.5))
        assert progress.running_flops == 5e9
        progress.finished("r1", ok=True, detail="loss 2.4 nats")
        progress.started("r2", "baseline d1", 1e10, attempt=1)
        progress.finished("r2", ok=False, detail="diverged: NaN", final=True)
    text = console.export_text()
    lines = [line for line in text.splitlines() if line]
    assert len(lines) == 5  # one per event
    assert "runs 2/3 done, 0 running, 1 failed" in lines[-1]
    assert "FLOPs 2.00e10/3.00e10" in lines[-1]
    assert "FAILED baseline d1  diverged: NaN" in lines[-1]
    assert progress.eta() is not None and progress.eta() > 0  # 1e10 FLOPs left


def test_live_view_shows_loss_of_running_runs():
    console = Console(record=True, width=200, force_terminal=True)
    with StudyProgress(console=console, total_runs=2, total_flops=2e10, live=True) as progress:
        progress.started("r1", "student d1<d2", 1e10, attempt=1)
        progress.step("r1", _event(3, 2.3456))
    rendered = console.export_text()
    assert "student d1<d2" in rendered and "3/10" in rendered and "2.3456" in rendered
    assert progress.summary().startswith("runs 0/2 done, 1 running, 0 failed")


def test_formats():
    assert format_flops(3.2e15) == "3.20e15"
    assert format_seconds(3725) == "1h02m"
    assert format_seconds(245) == "4m05s"
    assert format_seconds(None) == "?"
