import numpy as np
import pytest
import torch
import torch.nn.functional as F

from distillscale.errors import InputError
from distillscale.runs.config import KD_LOSSES
from distillscale.train import KDConfig
from distillscale.train.losses import distillation_loss, divergence, sparse_teacher

torch.set_num_threads(1)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _kl(p, r):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, p * (np.log(p) - np.log(r)), 0.0).sum(-1)


def _reference(name, p, q, skew=0.1, beta=0.5):
    """Dense numpy definitions from docs/references.md: KD losses (KL forms)."""
    if name == "forward-kl":
        return _kl(p, q)
    if name == "reverse-kl":
        return _kl(q, p)
    if name == "skew-forward-kl":
        return _kl(p, skew * p + (1 - skew) * q)
    if name == "skew-reverse-kl":
        return _kl(q, (1 - skew) * p + skew * q)
    if name == "js":
        m = beta * p + (1 - beta) * q
        return beta * _kl(p, m) + (1 - beta) * _kl(q, m)
    if name == "tv":
        return 0.5 * np.abs(p - q).sum(-1)
    raise KeyError(name)


@pytest.mark.parametrize("name", list(KD_LOSSES))
def test_divergence_matches_numpy_reference(name):
    rng = np.random.default_rng(0)
    zt, zs = rng.normal(0, 2, (2, 5, 11)), rng.normal(0, 2, (2, 5, 11))
    p, q = _softmax(zt), _softmax(zs)
    kd = KDConfig(loss=name, skew=0.2, js_beta=0.3)
    got = divergence(
        torch.log_softmax(torch.tensor(zt), -1), torch.log_softmax(torch.tensor(zs), -1), kd
    )
    want = _reference(name, p, q, skew=0.2, beta=0.3)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    assert (want > 0).all()


@pytest.mark.parametrize("name", list(KD_LOSSES))
def test_divergence_is_zero_when_p_equals_q(name):
    z = torch.randn(3, 7, 13, dtype=torch.float64)
    logp = torch.log_softmax(z, -1)
    got = divergence(logp, logp.clone(), KDConfig(loss=name))
    np.testing.assert_allclose(got.numpy(), 0.0, atol=1e-12)


def test_forward_kd_equals_cross_entropy_for_one_hot_teacher():
    torch.manual_seed(0)
    student = torch.randn(2, 4, 9)
    y = torch.randint(0, 9, (2, 4))
    teacher = F.one_hot(y, 9).float() * 1e4  # softmax is one-hot to float precision
    objective, ce, kd_term = distillation_loss(student, y, KDConfig(), teacher_logits=teacher)
    torch.testing.assert_close(kd_term, ce)
    torch.testing.assert_close(objective, ce)


def test_mixing_weight_and_tau2_scaling():
    torch.manual_seed(1)
    s, t = torch.randn(2, 3, 8), torch.randn(2, 3, 8)
    y = torch.randint(0, 8, (2, 3))
    kd = KDConfig(weight=0.7, temperature=2.0)
    objective, ce, kd_term = distillation_loss(s, y, kd, teacher_logits=t)
    want = _reference("forward-kl", _softmax(t.numpy() / 2), _softmax(s.numpy() / 2)).mean()
    np.testing.assert_allclose(kd_term.item(), want, rtol=1e-5)
    torch.testing.assert_close(objective, 0.3 * ce + 0.7 * 4.0 * kd_term)
    no_scale = KDConfig(weight=0.7, temperature=2.0, tau2_scaling=False)
    objective2, _, _ = distillation_loss(s, y, no_scale, teacher_logits=t)
    torch.testing.assert_close(objective2, 0.3 * ce + 0.7 * kd_term)


@pytest.mark.parametrize("name", ["forward-kl", "js", "tv", "skew-reverse-kl"])
def test_top_k_renormalize_matches_dense_truncated_reference(name):
    torch.manual_seed(2)
    s, t = torch.randn(2, 3, 10, dtype=torch.float64), torch.randn(2, 3, 10, dtype=torch.float64)
    y = torch.randint(0, 10, (2, 3))
    kd = KDConfig(loss=name, top_k=4)
    _, _, got = distillation_loss(s, y, kd, teacher_logits=t)
    p = _softmax(t.numpy())
    keep = np.argsort(-p, -1)[..., :4]
    trunc = np.zeros_like(p)
    np.put_along_axis(trunc, keep, np.take_along_axis(p, keep, -1), -1)
    trunc /= trunc.sum(-1, keepdims=True)
    want = _reference(name, trunc, _softmax(s.numpy())).mean()
    np.testing.assert_allclose(got.item(), want, rtol=1e-6)


@pytest.mark.parametrize("name", list(KD_LOSSES))
def test_top_k_bucket_matches_reference_on_k_plus_one_categories(name):
    torch.manual_seed(3)
    s, t = torch.randn(2, 3, 10, dtype=torch.float64), torch.randn(2, 3, 10, dtype=torch.float64)
    y = torch.randint(0, 10, (2, 3))
    kd = KDConfig(loss=name, top_k=3, top_k_mode="bucket")
    _, _, got = distillation_loss(s, y, kd, teacher_logits=t)
    p, q = _softmax(t.numpy()), _softmax(s.numpy())
    keep = np.argsort(-p, -1)[..., :3]

    def reduce(d):
        kept = np.take_along_axis(d, keep, -1)
        return np.concatenate([kept, 1 - kept.sum(-1, keepdims=True)], -1)

    want = _reference(name, reduce(p), reduce(q)).mean()
    np.testing.assert_allclose(got.item(), want, rtol=1e-6)


def test_full_top_k_equals_full_logits():
    torch.manual_seed(4)
    s, t = torch.randn(2, 3, 6), torch.randn(2, 3, 6)
    y = torch.randint(0, 6, (2, 3))
    _, _, full = distillation_loss(s, y, KDConfig(), teacher_logits=t)
    _, _, k6 = distillation_loss(s, y, KDConfig(top_k=6), teacher_logits=t)
    torch.testing.assert_close(full, k6)


def test_sparse_teacher_keeps_top_mass_and_rest():
    t = torch.randn(4, 12)
    sp = sparse_teacher(t, 5, 1.0)
    total = sp.logp.exp().sum(-1) + sp.log_rest.exp()
    torch.testing.assert_close(total, torch.ones(4))


@pytest.mark.parametrize("name", list(KD_LOSSES))
@pytest.mark.parametrize("top_k", [None, 3])
def test_gradients_are_finite(name, top_k):
    torch.manual_seed(5)
    s = torch.randn(2, 3, 10, requires_grad=True)
    t = torch.randn(2, 3, 10) * 30  # a peaked teacher: near-zero probabilities
    mode = "bucket" if name == "reverse-kl" and top_k else "renormalize"
    kd = KDConfig(loss=name, top_k=top_k, top_k_mode=mode, weight=0.5)
    objective, _, _ = distillation_loss(s, torch.randint(0, 10, (2, 3)), kd, teacher_logits=t)
    objective.backward()
    assert torch.isfinite(objective) and torch.isfinite(s.grad).all()
    assert s.grad.abs().sum() > 0


def test_renormalized_cache_at_tau_1_is_exact_at_other_temperatures():
    torch.manual_seed(6)
    s, t = torch.randn(2, 3, 10, dtype=torch.float64), torch.randn(2, 3, 10, dtype=torch.float64)
    y = torch.randint(0, 10, (2, 3))
    kd = KDConfig(top_k=4, temperature=2.5)
    _, _, online = distillation_loss(s, y, kd, teacher_logits=t)
    cached = sparse_teacher(t, 4, 1.0)
    _, _, from_cache = distillation_loss(s, y, kd, teacher_sparse=cached)
    torch.testing.assert_close(online, from_cache)
    with pytest.raises(InputError, match="top_k_mode"):
        distillation_loss(
            s, y, KDConfig(top_k=4, temperature=2.5, top_k_mode="bucket"), teacher_sparse=cached
        )
