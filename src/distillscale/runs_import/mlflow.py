"""MLflow tracking file stores (``mlruns/``), read directly: mlflow need not be installed.

Layout (MLflow's ``FileStore``)::

    mlruns/<experiment_id>/meta.yaml                      experiment: name, lifecycle_stage
    mlruns/<experiment_id>/<run_id>/meta.yaml             run: run_id, run_name, status, ...
    mlruns/<experiment_id>/<run_id>/params/<key>          one file per parameter: its value
    mlruns/<experiment_id>/<run_id>/metrics/<key>         one line per logged value:
                                                          "<timestamp ms> <value> <step>"
    mlruns/<experiment_id>/<run_id>/tags/<key>            one file per tag: its value

Keys with ``/`` are nested folders. A run gives one row per step at which any metric was logged:
its parameters and tags (``mlflow.*`` tags left out), the metrics logged at that step (the last
line wins when a metric is logged twice at one step), ``step``, ``run`` (the run id),
``run_name``, ``experiment`` (the experiment's name) and ``status``. Deleted runs and
experiments (``lifecycle_stage: deleted``, or under ``.trash``) are skipped. The source may be
the ``mlruns`` folder, one experiment's folder or one run's folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distillscale.errors import InputError
from distillscale.runs_import.rows import SourceRow
from distillscale.runs_import.tabular import scalar

__all__ = ["is_mlflow_store", "read_mlflow"]

_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


def _meta(path: Path) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: not a readable MLflow meta.yaml ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not an MLflow meta.yaml (expected a mapping of keys)")
    return doc


def is_mlflow_store(path: Path) -> bool:
    """A folder that is an ``mlruns`` store, an experiment or a run of one."""
    if not path.is_dir():
        return False
    if (path / "meta.yaml").is_file():
        return True
    return any((child / "meta.yaml").is_file() for child in path.iterdir() if child.is_dir())


def _files(folder: Path) -> dict[str, Path]:
    """Key -> file for a params/metrics/tags folder (nested folders are keys with ``/``)."""
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None


def _metric(path: Path, key: str, steps: dict[int, dict[str, Any]]) -> None:
    for number, line in enumerate(_text(path).splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (2, 3):
            raise InputError(
                f"{path} line {number}: expected '<timestamp> <value> <step>', found {line!r}"
            )
        try:
            value = float(parts[1])
            step = int(parts[2]) if len(parts) == 3 else 0
        except ValueError:
            raise InputError(
                f"{path} line {number}: metric {key!r}: value {parts[1]!r} or step "
                f"{parts[2] if len(parts) == 3 else ''!r} is not a number"
            ) from None
        steps.setdefault(step, {})[key] = value


def _run(folder: Path, experiment: str) -> Iterator[SourceRow]:
    meta = _meta(folder / "meta.yaml")
    if meta.get("lifecycle_stage") == "deleted":
        return
    run_id = str(meta.get("run_id") or folder.name)
    constants: dict[str, Any] = {}
    for key, path in _files(folder / "params").items():
        constants[key] = scalar(_text(path))
    for key, path in _files(folder / "tags").items():
        if not key.startswith("mlflow."):
            constants[key] = scalar(_text(path))
    tags = _files(folder / "tags")
    name = meta.get("run_name") or (
        _text(tags["mlflow.runName"]) if "mlflow.runName" in tags else None
    )
    steps: dict[int, dict[str, Any]] = {}
    for key, path in _files(folder / "metrics").items():
        _metric(path, key, steps)
    status = meta.get("status")
    base = {
        "run": run_id,
        "run_name": name,
        "experiment": experiment,
        "status": _STATUS.get(status, status) if isinstance(status, int) else status,
    }
    for step in sorted(steps) or [0]:
        values = {**constants, **steps.get(step, {}), **base, "step": step}
        yield SourceRow(values=values, where=f"{folder} (step {step})", history=True)


def _experiment(folder: Path) -> Iterator[SourceRow]:
    meta = _meta(folder / "meta.yaml")
    if meta.get("lifecycle_stage") == "deleted":
        return
    name = str(meta.get("name", folder.name))
    for child in sorted(folder.iterdir()):
        if child.is_dir() and (child / "meta.yaml").is_file():
            yield from _run(child, name)


def read_mlflow(root: Path) -> Iterator[SourceRow]:
    """Rows of every live run under an MLflow file store (see the module docstring)."""
    if not is_mlflow_store(root):
        raise InputError(
            f"{root}: not an MLflow file store (no meta.yaml in it or in its sub-folders); "
            "give the mlruns folder, an experiment folder or a run folder"
        )
    meta_path = root / "meta.yaml"
    if meta_path.is_file():
        meta = _meta(meta_path)
        if "run_id" in meta:  # one run
            experiment = root.parent / "meta.yaml"
            name = _meta(experiment).get("name") if experiment.is_file() else None
            yield from _run(root, str(name or root.parent.name))
        else:
            yield from _experiment(root)
        return
    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name != ".trash" and (child / "meta.yaml").is_file():
            yield from _experiment(child)
