import numpy as np
import pytest

import distillscale
from distillscale.errors import InputError


def test_predict_published_set_reproduces_busbridge_sanity_table():
    # docs/references.md: Busbridge: L_S(546M, 20 N_S, L_T = 2.3) = 2.4375
    loss = distillscale.predict("@busbridge2025", params=546e6, tokens=20 * 546e6, teacher_loss=2.3)
    assert loss == pytest.approx(2.4375, abs=1e-3)


def test_predict_accepts_a_fit_and_a_file_alike(tmp_path):
    fit = distillscale.load_fit("@besiroglu2024")
    fit.save(tmp_path / "fit.json")
    n, d = np.array([1e9, 7e10]), np.array([2e10, 1.4e12])
    from_fit = distillscale.predict(fit, params=n, tokens=d)
    from_file = distillscale.predict(tmp_path / "fit.json", params=n, tokens=d)
    np.testing.assert_allclose(from_fit, from_file, rtol=1e-12)
    assert from_fit[1] == pytest.approx(
        1.9734, abs=1e-4
    )  # docs/references.md: Chinchilla sanity value


def test_predict_unknown_set_is_an_input_error():
    with pytest.raises(InputError):
        distillscale.predict("@no-such-set", params=1e9, tokens=2e10)
