"""build_report on incomplete or damaged study directories: it says what is missing, never fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from synthetic_study import SUP, write_study

from distillscale.errors import InputError
from distillscale.report import build_report

ALL_PIECES = (
    "runs.csv",
    "curves.csv",
    "ledger.json",
    "fits/supervised.json",
    "fits/distillation.json",
    "fits/notes.json",
    "plan.json",
    "study.yaml",
)


def test_missing_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="study directory .*nope.*found nothing"):
        build_report(tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


def test_empty_directory_names_every_missing_piece(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a study"):  # an empty folder is no study
        build_report(tmp_path)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "spec.json").write_text("{}")  # a study stopped before it wrote anything else
    index = build_report(tmp_path)
    text = index.read_text()
    for piece in ALL_PIECES:
        assert f"<li>{piece} is missing</li>" in text, piece
    assert "<img" not in text
    assert "No data: runs.csv is missing or unreadable." in text
    assert "ledger.json is missing or unreadable." in text and "plan.json is missing or" in text
    assert "No fit artifacts in fits/." in text
    assert sorted(p.name for p in index.parent.iterdir()) == ["index.html"]


def test_runs_only_gives_data_without_curves(tmp_path: Path) -> None:
    full = write_study(tmp_path / "full")
    lean = tmp_path / "lean"
    lean.mkdir()
    shutil.copy(full / "runs.csv", lean / "runs.csv")
    index = build_report(lean)
    text = index.read_text()
    assert "fits/supervised.json is missing: data only, no fitted curves." in text
    assert "fits/distillation.json is missing: data only, no fitted curves." in text
    assert "No residuals: no fits." in text
    assert text.count("<img") == 2
    assert sorted(p.name for p in index.parent.glob("*.png")) == [
        "distillation.png",
        "supervised.png",
    ]
    # the summary still counts runs, and totals FLOPs from runs.csv without a ledger
    assert '<td class="text">total FLOPs (sum of runs.csv flops)</td>' in text


def test_damaged_files_are_reported_not_fatal(tmp_path: Path) -> None:
    study = write_study(tmp_path)
    (study / "ledger.json").write_text("{not json")
    (study / "plan.json").write_text("[1, 2]")
    doc = json.loads((study / "fits" / "supervised.json").read_text())
    doc["schema"] = "something/else"
    (study / "fits" / "supervised.json").write_text(json.dumps(doc))
    lines = (study / "runs.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",done,", ",done,").replace("teacher,", "teacher,", 1)
    cells = lines[1].split(",")
    cells[5] = "not-a-number"  # loss column of the first run
    lines[1] = ",".join(cells)
    (study / "runs.csv").write_text("\n".join(lines) + "\n")
    text = build_report(study).read_text()
    assert "ledger.json could not be read" in text
    assert "plan.json is not a JSON object (found list)" in text
    assert "fits/supervised.json could not be loaded as a fit" in text
    assert "something/else" in text
    # the supervised fit is unusable: data only; the distillation fit still draws its curves
    assert "fits/supervised.json could not be loaded (see the summary): data only" in text
    assert "Lines: the fitted distillation law" in text
    # its raw parameters are still shown from the JSON
    assert text.count("<h3>supervised fit</h3>") == 1


def test_stale_figures_are_removed_on_rebuild(tmp_path: Path) -> None:
    study = tmp_path
    (study / "runs.csv").write_text(
        "run,kind,params,tokens,flops,loss,status\nt1,teacher,1e7,2e8,1.2e16,3.9,done\n"
    )
    (study / "curves.csv").write_text(
        "run,step,tokens,train_loss,val_loss,lr\nt1,1,1e8,4.1,4.2,1e-3\nt1,2,2e8,3.8,3.9,1e-3\n"
    )
    report = study / "report"
    build_report(study)
    assert (report / "curves.png").is_file() and (report / "curves.svg").is_file()
    (report / "notes-by-user.png").write_bytes(b"keep me")
    (study / "curves.csv").unlink()
    build_report(study)
    assert not (report / "curves.png").exists() and not (report / "curves.svg").exists()
    assert (report / "supervised.png").is_file()
    assert (report / "notes-by-user.png").read_bytes() == b"keep me"


def test_bootstrap_samples_give_bands(tmp_path: Path) -> None:
    study = tmp_path
    rows = ["run,kind,params,tokens,flops,loss,status"]
    for i, n in enumerate((1e7, 4e7)):
        for m in (10, 40):
            d = m * n
            loss = (
                SUP["E"]
                + (SUP["A"] / n ** SUP["alpha"] + SUP["B"] / d ** SUP["beta"]) ** SUP["gamma"]
            )
            rows.append(f"t{i}{m},teacher,{n},{d},{6 * n * d},{loss},done")
    (study / "runs.csv").write_text("\n".join(rows) + "\n")
    rng = np.random.default_rng(0)
    names = ["E", "A", "B", "alpha", "beta", "gamma"]
    samples = [[SUP[k] * (1 + 0.01 * rng.standard_normal()) for k in names] for _ in range(32)]
    (study / "fits").mkdir()
    doc = {
        "schema": "distillscale.fit/1",
        "law": "chinchilla-gamma",
        "params": SUP,
        "ci": None,
        "ci_level": 0.9,
        "estimator": "huber-grid",
        "delta": 1e-3,
        "objective": 1e-6,
        "n_points": 4,
        "diagnostics": {"converged": True, "at_bound": [], "warnings": []},
        "param_names": names,
        "bootstrap_samples": samples,
    }
    (study / "fits" / "supervised.json").write_text(json.dumps(doc))
    text = build_report(study).read_text()
    assert "(with bootstrap bands)" in text
    svg = (study / "report" / "supervised.svg").read_text()
    assert svg.count('id="FillBetweenPolyCollection') + svg.count('id="PolyCollection') >= 4
    # no samples: no bands
    del doc["bootstrap_samples"]
    (study / "fits" / "supervised.json").write_text(json.dumps(doc))
    assert "(no bootstrap samples, so no bands)" in build_report(study).read_text()


def test_a_section_that_fails_is_replaced_by_its_error(tmp_path: Path) -> None:
    # a distillation fit without its nested supervised fit cannot predict (no L~_S)
    study = write_study(tmp_path)
    doc = json.loads((study / "fits" / "distillation.json").read_text())
    del doc["supervised"]
    (study / "fits" / "distillation.json").write_text(json.dumps(doc))
    index = build_report(study)
    text = index.read_text()
    # the capacity-gap section fails as a whole and says why
    assert text.count("This section could not be built: InputError:") == 1
    assert "has no supervised fit" in text
    assert not (index.parent / "distillation.png").exists()
    # residuals keep the supervised fit's and name the distillation fit's problem
    assert "fits/distillation.json cannot predict its runs" in text
    assert (index.parent / "residuals.png").is_file()
    for name in ("supervised", "holdout", "ledger", "curves"):
        assert (index.parent / f"{name}.png").is_file(), name


def test_unwritable_report_location_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "report").write_text("a file where the report folder belongs")
    (tmp_path / "spec.json").write_text("{}")
    with pytest.raises(InputError, match="cannot write the report under .*report"):
        build_report(tmp_path)
    assert (tmp_path / "report").read_text() == "a file where the report folder belongs"


def test_a_plain_run_table_counts_as_supervised_runs(tmp_path: Path) -> None:
    # a user's own table: no kind, no status, no teacher columns
    (tmp_path / "runs.csv").write_text(
        "run,params,tokens,loss\na,1e7,2e8,3.9\nb,4e7,8e8,3.4\nc,4e7,1.6e9,3.3\n"
    )
    index = build_report(tmp_path)
    text = index.read_text()
    assert "could not be built" not in text
    assert '<td class="text">done</td><td>3</td>' in text
    assert "<td>4.00e+07</td><td>2</td>" in text  # the supervised table: N, runs
    # no flops column: only the loss-vs-data panel
    svg = (index.parent / "supervised.svg").read_text()
    assert "<!-- training tokens D (tokens) -->" in svg
    assert "training compute" not in svg
