"""`distillscale fit --plot FILE` (curves vs data, residuals) and `--loss-unit` for fits."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from distillscale.cli import main
from fitting._synth import synthetic_table

CHINCHILLA = Path(__file__).resolve().parents[2] / "examples" / "data"


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    path = tmp_path / "runs.csv"
    synthetic_table("chinchilla", 40, seed=3).to_csv(path, index=False)
    return path


def test_plot_svg_has_both_panels_and_every_group(runs: Path, tmp_path: Path, capsys) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    out = tmp_path / "fit.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # keep text as text in the SVG
        code = main(["fit", str(runs), "--law", "chinchilla", "--plot", str(out),
                     "--train-where", "params < 3e9", "--test-where", "params >= 3e9"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    svg = out.read_text()
    assert "tokens D" in svg and "relative residual" in svg and "held out" in svg
    assert svg.count("N ≈ ") == 8  # 40 distinct sizes binned into eight groups
    assert "fitted: mean |err|" in svg
    assert f"wrote {out}" in capsys.readouterr().err


def test_plot_png_for_downstream_and_distillation(tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib")
    for law in ("downstream", "distillation"):
        data = tmp_path / f"{law}.csv"
        synthetic_table(law, 30, seed=1).to_csv(data, index=False)
        out = tmp_path / f"{law}.png"
        extra = ["--supervised", "@busbridge2025-supervised"] if law == "distillation" else []
        assert main(["fit", str(data), "--law", law, "--plot", str(out), *extra]) == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_refusals_come_before_the_fit(runs: Path, tmp_path: Path, capsys, monkeypatch):
    out = tmp_path / "fit.jpg"
    assert main(["fit", str(runs), "--law", "chinchilla", "--plot", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--plot" in err and ".png, .svg, .pdf" in err and "objective" not in err
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the report extra were missing
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["fit", str(runs), "--law", "chinchilla", "--plot", str(tmp_path / "a.png")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'distillscale[report]'" in err and "objective" not in err


def test_loss_unit_bits_fits_in_nats(tmp_path: Path, capsys) -> None:
    frame = pd.read_csv(CHINCHILLA / "chinchilla.csv")
    frame = frame[frame["outlier"] == 0].head(60)
    nats, bits = tmp_path / "nats.csv", tmp_path / "bits.csv"
    frame.to_csv(nats, index=False)
    frame.assign(loss=frame["loss"] / math.log(2)).to_csv(bits, index=False)
    docs = []
    for path, unit in ((nats, []), (bits, ["--loss-unit", "bits"])):
        assert main(["fit", str(path), "--law", "chinchilla", "--json", *unit]) == 0
        docs.append(json.loads(capsys.readouterr().out))
    for name, value in docs[0]["params"].items():
        assert docs[1]["params"][name] == pytest.approx(value, rel=1e-6), name
    assert main(["fit", str(bits), "--law", "chinchilla", "--loss-unit", "furlongs"]) == 2
    assert "--loss-unit 'furlongs' is not supported" in capsys.readouterr().err
