import pytest

from distillscale.errors import InputError
from distillscale.flops import (
    SCENARIOS,
    FlopsLedger,
    family_shape,
    forward_flops_per_token,
    logit_cache_flops,
    scenario_flops,
    teacher_inference_flops,
    training_flops,
)


def test_training_is_three_forwards():
    shape = family_shape(4)
    f = forward_flops_per_token(shape)
    assert training_flops(shape, 1000) == 3 * f * 1000
    assert (
        training_flops(shape, 1000, exact=False) == 3 * forward_flops_per_token(shape, False) * 1000
    )
    assert teacher_inference_flops(shape, 10) == f * 10
    assert logit_cache_flops(shape, 10) == f * 10
    with pytest.raises(InputError, match="tokens"):
        training_flops(shape, -1)


def test_ledger_adds_by_phase():
    a = FlopsLedger(student_training=1.0, teacher_inference=2.0)
    b = FlopsLedger(student_training=10.0, logit_cache=5.0, supervised_training=7.0)
    c = a + b
    assert c == FlopsLedger(
        student_training=11.0, teacher_inference=2.0, logit_cache=5.0, supervised_training=7.0
    )
    assert c.total == 25.0
    assert c.as_dict()["total"] == 25.0 and c.as_dict()["teacher_training"] == 0.0
    with pytest.raises(TypeError):
        a + 1.0  # noqa: B018


def test_scenarios_eq9():
    fs, ft, ds, dt = 2.0, 5.0, 100.0, 1000.0
    expected = {
        "teacher-free": 3 * fs * ds,
        "teacher-inference": 3 * fs * ds + ft * ds,
        "teacher-pretraining": 3 * fs * ds + 3 * ft * dt,
        "teacher-pretraining-inference": 3 * fs * ds + ft * ds + 3 * ft * dt,
    }
    assert set(SCENARIOS) == set(expected)
    for scenario, total in expected.items():
        ledger = scenario_flops(fs, ft, ds, dt, scenario)
        assert ledger.total == total
        assert ledger.student_training == 3 * fs * ds
    with pytest.raises(InputError, match="scenario"):
        scenario_flops(fs, ft, ds, dt, "free")
