"""Planning errors name Python arguments; the command line words them as flags (issue 12)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import distillscale as ds
from distillscale.cli.errors import cli_message
from distillscale.errors import InputError
from distillscale.fitting.result import load_fit
from distillscale.planning import plan
from distillscale.planning.plot import plot
from distillscale.planning.surfaces import distillation_surface, flops_convention
from wording import assert_worded

S = {"compute": 1e21, "student_params": 1e8}


def _plan(**kwargs: object) -> Callable[[], object]:
    return lambda: plan(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "python", "cli"),
    [
        (_plan(compute=-1.0), "compute=-1.0: not a positive FLOPs", "--compute -1.0: not a"),
        (_plan(compute=1e5), "compute=1e+05 FLOPs is outside", "--compute 1e+05 FLOPs is out"),
        (_plan(compute=1e11), "compute=1e+11 FLOPs admits no model", "--compute 1e+11 FLOPs"),
        (_plan(target_loss=-1.0), "target_loss=-1.0: not a positive", "--target-loss -1.0: not"),
        (_plan(target_loss=0.5), "target_loss=0.5 nats/token is at or", "--target-loss 0.5 nats"),
        (_plan(target_loss=1.23), "target_loss=1.23 nats/token is below", "--target-loss 1.23"),
        (
            _plan(target_loss=2.5, inference_tokens=-1.0),
            "inference_tokens=-1.0: must be a finite",
            "--inference-tokens -1.0: must be a finite",
        ),
        (
            _plan(),
            "plan: neither a budget nor a target loss; give exactly one of compute= (a FLOPs "
            "budget) or target_loss= (a loss",
            "plan: neither a budget nor a target loss; give exactly one of --compute (a FLOPs "
            "budget) or --target-loss (a loss",
        ),
        (_plan(compute=1e21, target_loss=2.5), "plan: both a budget and", "or --target-loss (a"),
        (
            _plan(compute=1e21, inference_tokens=1e12),
            "inference_tokens=1000000000000.0: the inference-aware optimum (Sardana et al. "
            "2024) fixes a target loss; add target_loss=L",
            "--inference-tokens: the inference-aware optimum (Sardana et al. 2024) fixes a "
            "target loss; add --target-loss L",
        ),
        (
            _plan(compute=1e21, students=2, threshold=True),
            "students=, threshold=: only for distillation plans; add student_params=N_S",
            "--students, --threshold: only for distillation plans; add --student-params N_S",
        ),
        (
            _plan(compute=1e21, teacher_loss=2.0),
            "teacher_loss=/teacher_params=/teacher_tokens=: only",
            "--teacher-loss/--teacher-params/--teacher-tokens: only",
        ),
        (
            _plan(compute=1e21, student_params=10),
            "student_params=10: outside 1e6..1e14",
            "--student-params 10: outside 1e6..1e14",
        ),
        (
            _plan(compute=1e12, student_params=1e9),
            "compute=1e+12 FLOPs trains a 1e+09-parameter student on only 136 tokens (at least "
            "1e6 are planned); give compute=7.36e+15 or more, or a smaller student_params=",
            "--compute 1e+12 FLOPs trains a 1e+09-parameter student on only 136 tokens (at "
            "least 1e6 are planned); give --compute 7.36e+15 or more, or a smaller "
            "--student-params",
        ),
        (_plan(**S, students=0), "students=0: must be an integer", "--students 0: must be an"),
        (
            _plan(
                compute=1e16,
                student_params=1e8,
                teacher_params=1e11,
                teacher_loss=2.0,
                scenario="teacher-inference",
            ),
            "compute=1e+16 FLOPs leaves 4.8e+04 student tokens after the teacher's costs in "
            "scenario teacher-inference; at least 1e6 are needed; raise compute=",
            "--compute 1e+16 FLOPs leaves 4.8e+04 student tokens after the teacher's costs in "
            "scenario teacher-inference; at least 1e6 are needed; raise --compute",
        ),
        (
            _plan(**S, teacher_params=-1.0, teacher_loss=2.0),
            "teacher_params=-1.0: must be a positive parameter count",
            "--teacher-params -1.0: must be a positive parameter count",
        ),
        (
            _plan(**S, teacher_tokens=-1.0, teacher_loss=2.0),
            "teacher_tokens=-1.0: must be a positive token count",
            "--teacher-tokens -1.0: must be a positive token count",
        ),
        (
            _plan(**S, teacher_params=1e9),
            "; give teacher_loss=, or both teacher_params= and teacher_tokens=",
            "; give --teacher-loss, or both --teacher-params and --teacher-tokens",
        ),
        (
            _plan(**S, teacher_loss=2.0, scenario="teacher-inference"),
            "teacher_params=None: the scenario charges teacher inference, which needs the "
            "teacher's size; give teacher_params= or use scenario='teacher-free'",
            "--teacher-params: the scenario charges teacher inference, which needs the "
            "teacher's size; give --teacher-params or use --scenario teacher-free",
        ),
        (
            _plan(**S, teacher_loss=2.0, teacher_params=1e9, scenario="teacher-pretraining"),
            "teacher_tokens=None: the scenario charges teacher pretraining, which needs the "
            "teacher's size and tokens; give teacher_params= and teacher_tokens=; an existing "
            "teacher is usually scenario='teacher-inference'",
            "--teacher-tokens: the scenario charges teacher pretraining, which needs the "
            "teacher's size and tokens; give --teacher-params and --teacher-tokens; an "
            "existing teacher is usually --scenario teacher-inference",
        ),
        (
            _plan(compute=1e14, student_params=1e6),
            "compute=1e+14 FLOPs cannot train a teacher and 1e6 student tokens in this "
            "scenario; raise compute=",
            "--compute 1e+14 FLOPs cannot train a teacher and 1e6 student tokens in this "
            "scenario; raise --compute",
        ),
        (
            _plan(fit="@hoffmann2022", **S),
            "fit='@hoffmann2022': a 'chinchilla' fit cannot answer a distillation question "
            "(one with a student size); use a distillation fit such as fit='@busbridge2025', "
            "or drop student_params= for a supervised plan",
            "--fit @hoffmann2022: a 'chinchilla' fit cannot answer a distillation question "
            "(one with a student size); use a distillation fit such as --fit @busbridge2025, "
            "or drop --student-params for a supervised plan",
        ),
        (
            _plan(fit="@gadre2024-c4-downstream", compute=1e21),
            "fit='@gadre2024-c4-downstream': fit law 'downstream' predicts from loss",
            "--fit @gadre2024-c4-downstream: fit law 'downstream' predicts from loss",
        ),
        (
            _plan(**S, inference_tokens=1.0),
            "inference_tokens=1.0: only for supervised plans; drop student_params=",
            "--inference-tokens: only for supervised plans; drop --student-params",
        ),
        (
            _plan(**S, teachers=[2.1], teacher_loss=2.0),
            "teachers=[2.1]: both a list of teachers and one teacher are given; give either "
            "teachers= or one teacher, not both",
            "--teachers: both a list of teachers and one teacher are given; give either "
            "--teachers or one teacher, not both",
        ),
        (
            _plan(**S, teachers=[2.1], scenario="teacher-inference"),
            "accounting; drop scenario= or use scenario='teacher-free'",
            "accounting; drop --scenario or use --scenario teacher-free",
        ),
        (_plan(**S, scenario="x"), "scenario='x': not known", "--scenario x: not known"),
        (
            _plan(**S, teacher_loss=500.0),
            "teacher_loss=500.0: not a teacher loss in 0.01..100",
            "--teacher-loss 500.0: not a teacher loss in 0.01..100",
        ),
        (
            _plan(**S, teachers=[2.1, 500.0]),
            "teachers[1]=500.0: not a teacher loss",
            "--teachers 500.0: not a teacher loss",
        ),
        (
            _plan(**S, teachers=[]),
            "teachers=[]: the list is empty; give teacher losses in nats per token, e.g. "
            "teachers=[2.1, 2.3, 2.5]",
            "--teachers: the list is empty; give teacher losses in nats per token, e.g. "
            "--teachers 2.1,2.3,2.5",
        ),
        (
            _plan(student_params=1e8, target_loss=2.0),
            "target_loss=2 nats/token is out of reach for a 1e+08-parameter student",
            "--target-loss 2 nats/token is out of reach for a 1e+08-parameter student",
        ),
        (
            lambda: flops_convention("x"),
            "flops='x': not a FLOPs convention",
            "--flops x: not a FLOPs convention",
        ),
        (
            lambda: distillation_surface("chinchilla", {}, None),  # type: ignore[arg-type]
            "fit law 'chinchilla' has no teacher_loss input; distillation planning needs a "
            "'distillation' fit, e.g. fit='@busbridge2025'",
            "e.g. --fit @busbridge2025",
        ),
        (
            lambda: plot("a.txt", student_params=1e8),
            "path='a.txt': must end in .png or .svg",
            "--plot 'a.txt': must end in .png or .svg",
        ),
    ],
)
def test_planning_error_names_no_flag_and_the_cli_does(
    call: Callable[[], object], python: str, cli: str
) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert_worded(info.value, python, cli)


def test_a_fit_file_the_planner_refuses_is_the_errors_where(tmp_path: Path) -> None:
    doc = load_fit("@hoffmann2022").to_json()
    doc["params"]["alpha"] = -400.0
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError) as info:
        ds.plan(str(path), compute=1e21)
    assert info.value.where is not None and info.value.where.file == str(path)
    assert str(info.value).startswith(f"fit='{path}': law 'chinchilla': parameter alpha")
    assert cli_message(info.value).startswith(f"--fit {path}: law 'chinchilla': parameter")


def test_a_plot_path_is_the_errors_where(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        plot(tmp_path / "a.txt", student_params=1e8)
    assert info.value.where is not None and info.value.where.file == str(tmp_path / "a.txt")
    pytest.importorskip("matplotlib")
    (tmp_path / "a-file").write_text("x")
    target = tmp_path / "a-file" / "x.png"
    with pytest.raises(InputError) as info:
        plot(target, student_params=1e8, low=1e20, high=1e21)
    assert info.value.where is not None and info.value.where.file == str(target)
    assert str(info.value).startswith(f"path='{target}': cannot be written")
    assert cli_message(info.value).startswith(f"--plot {target}: cannot be written")
