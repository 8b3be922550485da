from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from distillscale.cli import main

SPEC = {
    "name": "clitiny",
    "data": {"seq_len": 32, "max_corpus_bytes": 1000000, "val_fraction": 0.1},
    "model": {"aspect": 16, "head_dim": 16},
    "teachers": {"depths": [1, 2], "tokens_per_param": [0.5]},
    "students": {"depths": [1], "tokens": [4096]},
    "baselines": {"match": "tokens"},
    "training": {"batch_size": 4, "eval_tokens": 1024, "checkpoint_every": 10},
    "executor": {"workers": 2, "lease_seconds": 5},
    "fit": {"enabled": False},
    "plan": {"enabled": False},
    "report": False,
    "throughput": 1e9,
}


def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_dry_run_json_lists_runs_and_flops_without_torch(tmp_path):
    spec = _write(tmp_path, SPEC)
    code = (
        "import sys; from distillscale.cli import main; "
        f"rc = main(['run', {str(spec)!r}, '--dry-run', '--json']); "
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["counts"] == {"teacher": 2, "student": 2, "baseline": 1}
    assert len(doc["caches"]) == 2
    phases = doc["flops"]
    assert phases["total"] == pytest.approx(
        sum(v for k, v in phases.items() if k != "total"), rel=1e-12
    )
    assert sum(r["flops"] for r in doc["runs"]) + sum(
        phases["logit_cache"] for _ in [0]
    ) == pytest.approx(phases["total"], rel=1e-12)
    assert doc["throughput_source"] == "spec"
    # 2 workers at 1e9 FLOP/s each: at least half the FLOPs' seconds
    assert doc["estimated_wall_seconds"] >= phases["total"] / 2e9


def test_dry_run_table_on_stderr(tmp_path, capsys):
    assert main(["run", str(_write(tmp_path, SPEC)), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "teacher_training" in captured.err and "estimated wall time" in captured.err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"teachers": {"depths": [1], "widths": [2]}}, "teachers.widths: unknown key"),
        ({"training": {"batch_size": "many"}}, "training.batch_size"),
        ({"students": {"depths": [1], "tokens": [10]}}, "less than one optimiser step"),
        ({"data": {"corpus": "does/not/exist"}}, "data.corpus"),
    ],
)
def test_bad_specs_exit_2_with_one_line(tmp_path, capsys, change, message):
    assert main(["run", str(_write(tmp_path, {**SPEC, **change})), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_unreachable_ray_address_exits_2(tmp_path, capsys):
    pytest.importorskip("ray", reason="ray is not installed")
    args = ["run", str(_write(tmp_path, SPEC)), "--out", str(tmp_path / "s")]
    assert main([*args, "--executor", "ray", "--address", "127.0.0.1:9"]) == 2
    assert "cannot reach a Ray cluster" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_real_study_runs_and_resumes_without_retraining(tmp_path, capsys):
    spec = _write(tmp_path, SPEC)
    out = tmp_path / "study"
    assert main(["run", str(spec), "--out", str(out), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["done"] == first["runs"] == 5 and first["failed"] == 0
    with open(out / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["status"] for r in rows} == {"done"}
    for row in rows:
        assert 1.0 < float(row["loss"]) < 6.0  # nats per byte-token, below ln(256) = 5.55
        starts = (out / "runs" / row["run"] / "attempts.log").read_text().count("start")
        assert starts == 1
        if row["kind"] == "student":
            assert float(row["teacher_loss"]) > 0
    assert (out / "study.yaml").exists() and (out / "ledger.json").exists()
    assert main(["run", str(spec), "--out", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["trained"] == 0 and again["done"] == 5


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL and /proc")
def test_killed_real_study_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGKILL `distillscale run` (driver and, with it, its workers) at random points."""
    import random
    import signal
    import time

    spec = _write(tmp_path, {**SPEC, "executor": {"workers": 2, "lease_seconds": 2}})
    cli = [str(Path(sys.executable).with_name("distillscale")), "run", str(spec), "--out"]
    ref = tmp_path / "ref"
    subprocess.run([*cli, str(ref)], check=True, capture_output=True, timeout=600)
    study = tmp_path / "crashed"
    rng = random.Random(7)
    kills = 0

    def attempts_started() -> int:
        logs = (study / "runs").glob("*/attempts.log")
        return sum(log.read_text().count("start") for log in logs)

    for i in range(4):
        proc = subprocess.Popen(
            [*cli, str(study)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # kill at a random point after this launch started a run (not at a random wall time:
        # on a fast machine the whole study can finish before one)
        before, deadline = attempts_started(), time.monotonic() + 300
        while proc.poll() is None and attempts_started() <= before:
            assert time.monotonic() < deadline, "no run started within 300 s"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3 if i == 0 else 2.0))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        kills += 1
    subprocess.run([*cli, str(study)], check=True, capture_output=True, timeout=600)
    assert kills >= 1, kills

    def table(path: Path) -> list[tuple[str, ...]]:
        with open(path / "runs.csv", newline="") as fh:
            keep = ("run", "kind", "tokens", "loss", "teacher_loss", "status")
            return sorted(tuple(r[k] for k in keep) for r in csv.DictReader(fh))

    assert table(study) == table(ref)  # exact resume: identical losses
    for row in table(study):
        assert row[-1] == "done"
        log = (study / "runs" / row[0] / "attempts.log").read_text()
        assert log.count("start") <= kills + 1
