from __future__ import annotations

import csv
from pathlib import Path

import pytest
from rich.console import Console

from distillscale.cli.errors import cli_message
from distillscale.errors import InputError
from distillscale.study.runner import run_study
from distillscale.study.spec import parse_spec

from .fakes import fast_run_fn

ray = pytest.importorskip("ray", reason="ray is not installed")

pytestmark = pytest.mark.ray


def _table(study: Path) -> list[tuple[str, ...]]:
    with open(study / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    keep = ("run", "kind", "params", "tokens", "loss", "teacher_loss", "status")
    return sorted(tuple(r[k] for k in keep) for r in rows)


@pytest.fixture(scope="module")
def ray_cluster():
    tests_dir = str(Path(__file__).resolve().parents[1])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": tests_dir}},
    )
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_gives_the_same_runs_and_fits_as_local(tmp_path, ray_cluster):
    import copy
    import json

    from .test_crash_safety import DOC

    quiet = Console(stderr=True, quiet=True)
    doc = copy.deepcopy(DOC)
    local = run_study(parse_spec(doc), tmp_path / "local", console=quiet, run_fn=fast_run_fn())
    doc["executor"] = {"kind": "ray", "workers": 2, "address": "local", "lease_seconds": 2}
    remote = run_study(parse_spec(doc), tmp_path / "ray", console=quiet, run_fn=fast_run_fn())
    assert remote.done == local.done == local.runs
    assert remote.trained == local.trained
    assert _table(tmp_path / "ray") == _table(tmp_path / "local")
    fits = [
        json.loads((tmp_path / d / "fits" / "supervised.json").read_text())["params"]
        for d in ("ray", "local")
    ]
    assert fits[0] == pytest.approx(fits[1], rel=1e-6)


def test_unreachable_ray_address_is_an_input_error(tmp_path, tiny_doc):
    from distillscale.study.executors.ray import _check_reachable

    with pytest.raises(InputError, match="cannot reach a Ray cluster") as info:
        _check_reachable("127.0.0.1:9")
    # the spec's keys for a study, the run flags on the command line
    assert str(info.value).startswith("executor.address '127.0.0.1:9': cannot reach")
    assert str(info.value).endswith("or use executor.kind local")
    line = cli_message(info.value)
    assert line.startswith("--address 127.0.0.1:9: cannot reach")
    assert line.endswith("; start one with 'ray start --head' or use --executor local")
    with pytest.raises(InputError, match="HOST:PORT") as info:
        _check_reachable("nonsense")
    assert cli_message(info.value).startswith("--address 'nonsense': give 'auto'")
