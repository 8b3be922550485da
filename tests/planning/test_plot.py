from __future__ import annotations

import numpy as np
import pytest

from distillscale.errors import InputError
from distillscale.planning import distillation_threshold
from distillscale.planning.plot import crossover, frontier, plot


def test_frontier_crossover_matches_threshold_search(busbridge_dist):
    data = frontier(busbridge_dist, student_params=546e6, scenario="teacher-free", points=21)
    assert np.all(np.diff(data.distilled) <= 1e-9)  # more compute never hurts
    assert np.all(np.diff(data.supervised) <= 1e-9)
    interpolated = crossover(data)
    searched = distillation_threshold(busbridge_dist, student_params=546e6, scenario="teacher-free")
    assert interpolated.kind == "crossover"
    assert interpolated.compute == pytest.approx(searched.compute, rel=0.1)


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = plot(tmp_path / "f.png", student_params=1.82e9, scenario="teacher-inference")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_rejects_other_formats(tmp_path):
    with pytest.raises(InputError, match="path="):
        plot(tmp_path / "f.jpg", student_params=1.82e9)
