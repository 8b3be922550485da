from __future__ import annotations

import numpy as np
import pytest

from distillscale.errors import InputError
from distillscale.fitting import load_fit
from distillscale.flops import busbridge_forward_flops
from distillscale.planning.fits import surfaces
from distillscale.planning.surfaces import default_convention, flops_convention

from ._reference import student_loss, sup_loss


def test_reference_formulas_match_laws_md_sanity_tables():
    # docs/references.md: Busbridge (computed from Table 6) and §1.8 (Table 13 forward FLOPs)
    assert sup_loss(546e6, 20 * 546e6) == pytest.approx(2.5149, abs=1e-4)
    assert student_loss(546e6, 20 * 546e6, 2.3) == pytest.approx(2.4375, abs=1e-4)
    assert student_loss(1.82e9, 20 * 1.82e9, 1.9) == pytest.approx(2.1700, abs=1e-4)
    assert busbridge_forward_flops(7.75e9) == pytest.approx(16.99e9, rel=3e-3)


def test_registry_surfaces_equal_reference_formulas():
    fs = surfaces(load_fit("@busbridge2025"), distillation=True)
    n = np.array([1e7, 5e8, 1e10, 1e12])
    d = np.array([1e8, 1e10, 1e12, 1e14])
    lt = np.array([1.5, 2.0, 2.5, 3.5])
    assert np.allclose(fs.supervised.loss(n, d), sup_loss(n, d), rtol=1e-13)
    assert np.allclose(fs.distillation.student_loss(n, d, lt), student_loss(n, d, lt), rtol=1e-13)
    # broadcasting: a (3, 1) grid against (4,) tokens
    assert fs.supervised.loss(n[:3, None], d).shape == (3, 4)
    assert fs.flops.name == "busbridge"
    assert fs.samples == ()


def test_flops_conventions():
    six = flops_convention("6nd")
    assert six.train(1e9) == pytest.approx(6e9)
    bus = flops_convention("busbridge")
    assert bus.forward(7.75e9) == pytest.approx(busbridge_forward_flops(7.75e9))
    assert default_convention("chinchilla") == "6nd"
    assert default_convention("distillation") == "busbridge"
    with pytest.raises(InputError, match="flops="):
        flops_convention("4nd")


def test_supervised_question_needs_a_law_of_params_and_tokens():
    with pytest.raises(InputError, match="params and tokens"):
        surfaces(load_fit("@gadre2024-c4-downstream"), distillation=False)
