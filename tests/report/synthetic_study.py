"""A synthetic study directory in the documented formats (docs/conventions.md, the study contract).

Losses come from the published Busbridge et al. 2025 laws (docs/references.md: Busbridge, §1.2,
Table 6
coefficients), from the plain formulas of ``busbridge_reference``, independent of
``distillscale.laws``. Runs at D = 20 N are
exact law values, so they reproduce the docs/references.md: Busbridge sanity tables; the others
carry a fixed
relative perturbation.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from busbridge_reference import DIST, SUP, student_loss, supervised_loss
from distillscale.runs import STUDY_RUN_COLUMNS

EVIL = 's-<b>evil</b>&"q"'


COLUMNS = list(STUDY_RUN_COLUMNS)  # a study's runs.csv, as the runner writes it


def _size(n: float) -> str:
    return f"{n / 1e6:.0f}M" if n < 1e9 else f"{n / 1e9:.2f}B"


def make_runs() -> list[dict[str, object]]:
    """Run-table rows: 9 teachers, 1 baseline, 1 failed teacher, 7 distilled students."""
    rows: list[dict[str, object]] = []
    perturb = {5: 0.004, 20: 0.0, 80: -0.003}
    for n in (1.43e8, 5.46e8, 1.82e9):
        for m in (5, 20, 80):
            d = m * n
            rows.append(
                {
                    "run": f"t-{_size(n)}-m{m}",
                    "kind": "teacher",
                    "params": n,
                    "tokens": d,
                    "flops": 6 * n * d,
                    "loss": supervised_loss(n, d) * (1 + perturb[m]),
                    "status": "done",
                    "wall_seconds": 100.0,
                    "flops_training": 6 * n * d,
                }
            )
    n, d = 9.75e8, 20 * 9.75e8
    rows.append(
        {
            "run": "b-975M-m20",
            "kind": "baseline",
            "params": n,
            "tokens": d,
            "flops": 6 * n * d,
            "loss": supervised_loss(n, d),
            "status": "done",
            "wall_seconds": 50.0,
        }
    )
    rows.append(
        {
            "run": "t-broken",
            "kind": "teacher",
            "params": 2.72e9,
            "tokens": 20 * 2.72e9,
            "loss": "",
            "status": "failed",
            "wall_seconds": 7.5,
        }
    )
    teachers = {r["run"]: r for r in rows if r["kind"] == "teacher" and r["status"] == "done"}
    for ns in (1.43e8, 5.46e8):
        ds = 20 * ns
        for tname in ("t-143M-m20", "t-546M-m20", "t-1.82B-m20", "t-1.82B-m80"):
            t = teachers[tname]
            lt = float(t["loss"])  # type: ignore[arg-type]
            rows.append(
                {
                    "run": f"s-{_size(ns)}-{tname}",
                    "kind": "student",
                    "params": ns,
                    "tokens": ds,
                    "flops": 6 * ns * ds,
                    "loss": student_loss(ns, ds, lt),
                    "teacher_loss": lt,
                    "teacher_params": t["params"],
                    "teacher_tokens": t["tokens"],
                    "teacher_run": tname,
                    "status": "done",
                    "wall_seconds": 25.0,
                }
            )
    # a student whose name needs escaping, same numbers as a regular one
    last = dict(rows[-1])
    last["run"] = EVIL
    rows.append(last)
    return rows


def _fit_doc(law: str, params: dict[str, float], holdout: list[dict[str, object]]) -> dict:
    return {
        "schema": "distillscale.fit/1",
        "law": law,
        "params": params,
        "ci": {k: [v * 0.99, v * 1.01] for k, v in params.items()},
        "ci_level": 0.9,
        "estimator": "huber-grid",
        "delta": 1e-3,
        "objective": 0.00123,
        "n_points": 10,
        "holdout": holdout,
        "diagnostics": {"converged": True, "at_bound": [], "warnings": []},
        "data_sha256": "0" * 64,
        "version": "distillscale 0.1.0",
    }


def _holdout(rows: list[dict[str, object]], predict) -> list[dict[str, object]]:  # noqa: ANN001
    out = []
    for r in rows:
        observed = float(r["loss"])  # type: ignore[arg-type]
        predicted = float(predict(r))
        out.append(
            {
                "run": r["run"],
                "observed": observed,
                "predicted": predicted,
                "rel_error": (predicted - observed) / observed,
            }
        )
    return out


def write_study(root: Path) -> Path:
    """Write every file of the study contract under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    rows = make_runs()
    with (root / "runs.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in COLUMNS})
    with (root / "curves.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["run", "step", "tokens", "train_loss", "val_loss", "lr"])
        for r in rows:
            if r["status"] != "done" or r["kind"] == "student":
                continue
            for k in range(1, 6):
                val = float(r["loss"]) + 0.6 * (1 / k - 1 / 5)  # type: ignore[arg-type]
                tokens = float(r["tokens"]) * k / 5  # type: ignore[arg-type]
                writer.writerow([r["run"], 100 * k, tokens, val + 0.02, val, 1e-3])
    spent = {"student_training": 0.0, "teacher_training": 0.0, "supervised_training": 0.0}
    for r in rows:
        if r["status"] == "done":
            key = {"student": "student_training", "teacher": "teacher_training"}.get(
                str(r["kind"]), "supervised_training"
            )
            spent[key] += float(r["flops"])  # type: ignore[arg-type]
    spent["teacher_inference"] = 2.5e19
    spent["logit_cache"] = 1.0e17
    spent["total"] = float(sum(spent.values()))
    ledger = {**spent, "planned": {k: v * 1.25 for k, v in spent.items()}}
    (root / "ledger.json").write_text(json.dumps(ledger))
    (root / "fits").mkdir(exist_ok=True)
    sup_rows = [r for r in rows if r["kind"] in ("teacher", "baseline") and r["status"] == "done"]
    sup_hold = sorted(sup_rows, key=lambda r: float(r["loss"]))[:2]  # type: ignore[arg-type]
    sup = _fit_doc(
        "chinchilla-gamma",
        SUP,
        _holdout(sup_hold, lambda r: supervised_loss(r["params"], r["tokens"])),
    )
    sup["diagnostics"]["warnings"] = ["gamma <near> its bound"]
    sup["diagnostics"]["poorly_determined"] = ["B"]
    # the first held-out run's band misses it (inside False), the second's covers it
    for entry, half in zip(sup["holdout"], (0.001, 0.01), strict=True):
        band = [entry["predicted"] - half, entry["predicted"] + half]
        entry["prediction_interval"] = band
        entry["inside"] = band[0] <= entry["observed"] <= band[1]
    (root / "fits" / "supervised.json").write_text(json.dumps(sup))
    stu_rows = [r for r in rows if r["kind"] == "student"]
    stu_hold = sorted(stu_rows, key=lambda r: float(r["loss"]))[:2]  # type: ignore[arg-type]
    dist = _fit_doc(
        "distillation",
        DIST,
        _holdout(stu_hold, lambda r: student_loss(r["params"], r["tokens"], r["teacher_loss"])),
    )
    dist["supervised"] = _fit_doc("chinchilla-gamma", SUP, [])
    dist["diagnostics"] = {"converged": False, "at_bound": ["c1"], "warnings": ["c1 at bound"]}
    (root / "fits" / "distillation.json").write_text(json.dumps(dist))
    notes = {"fixed": {"c1": 522.6}, "warnings": ["<i>few</i> teachers"], "missing_runs": []}
    (root / "fits" / "notes.json").write_text(json.dumps(notes))
    plan = {
        "students": [
            {
                "student_params": 1.43e8,
                "verdict": "distill",
                "best_teacher_run": "t-546M-m20",
                "best_teacher_loss": 2.5149,
                "student_loss_distilled": 2.70,
                "student_loss_supervised": 2.8892,
                "margin": 0.1892,
            },
            {
                "student_params": 5.46e8,
                "verdict": "supervised",
                "best_teacher_run": EVIL,
                "best_teacher_loss": 2.2509,
                "student_loss_distilled": 2.52,
                "student_loss_supervised": 2.5149,
                "margin": -0.0051,
            },
        ],
        "text": "Distill the 143M student <script>alert(1)</script> from t-546M-m20.",
    }
    (root / "plan.json").write_text(json.dumps(plan))
    (root / "study.yaml").write_text("name: demo <study> & co\nstudents: [143M, 546M]\n")
    return root


__all__ = ["DIST", "EVIL", "SUP", "student_loss", "supervised_loss", "write_study"]
