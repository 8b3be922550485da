import math

import numpy as np
import pytest

from distillscale.errors import InputError
from distillscale.flops import (
    TransformerShape,
    busbridge_forward_flops,
    busbridge_shape,
    busbridge_sigmas,
    count_params,
    default_ffn_dim,
    family_shape,
    forward_flops_per_token,
    kaplan_forward_flops,
    matmul_params,
)

# Busbridge et al. 2025 Table 13: (n_layers, published d_ffn, non-embedding N, forward GFLOPs)
TABLE13 = [
    (8, None, 103e6, 0.3398e9),
    (9, 3072, 143e6, 0.4471e9),
    (34, 11648, 7.75e9, 16.99e9),
    (40, 13696, 12.6e9, 27.23e9),
]
# App. G examples: n_layers -> d_ffn
TABLE13_DFFN = {
    9: 3072,
    10: 3456,
    14: 4864,
    17: 5888,
    21: 7168,
    24: 8192,
    29: 9984,
    34: 11648,
    40: 13696,
}


def test_tiny_shape_hand_count():
    # 2 layers, d=8, 2 heads (head_dim 4), 1 kv head, gated ffn 16, vocab 10, ctx 6, untied, qk-norm
    shape = TransformerShape(
        n_layers=2,
        d_model=8,
        n_heads=2,
        n_kv_heads=1,
        ffn="gated",
        ffn_dim=16,
        vocab_size=10,
        seq_len=6,
        qk_norm=True,
    )
    # per layer: q 64 + k 32 + v 32 + o 64 = 192; ffn 3*8*16 = 384; norms 8+8; qk-norm 4+4
    per_layer = 192 + 384 + 16 + 8
    assert matmul_params(shape) == 2 * (192 + 384)
    pc = count_params(shape)
    assert pc.non_embedding == 2 * per_layer + 8
    assert pc.embedding == 2 * 80
    assert pc.total == pc.non_embedding + pc.embedding
    # forward: 2*1152 matmul + causal attention 2*2*2*(6/2)*8 + head 2*8*10
    assert forward_flops_per_token(shape) == 2 * 1152 + 192 + 160
    assert forward_flops_per_token(shape, causal=False) == 2 * 1152 + 384 + 160
    assert forward_flops_per_token(shape, exact=False) == 2 * pc.non_embedding
    assert kaplan_forward_flops(shape) == 2 * pc.non_embedding + 2 * 2 * 6 * 8


def test_tied_plain_no_qknorm():
    shape = TransformerShape(
        n_layers=1, d_model=4, n_heads=1, ffn="plain", vocab_size=7, seq_len=2, tied_embeddings=True
    )
    assert shape.ffn_dim == 16 and shape.n_kv_heads == 1
    pc = count_params(shape)
    # q,k,v,o 4*16; ffn 2*4*16; two norms + final norm
    assert pc.non_embedding == 64 + 128 + 8 + 4
    assert pc.embedding == 28


def test_default_gated_width_reproduces_table13():
    for n_layers, d_ffn in TABLE13_DFFN.items():
        assert default_ffn_dim(128 * n_layers, "gated") == d_ffn
        assert busbridge_shape(n_layers).ffn_dim == d_ffn


@pytest.mark.parametrize(("n_layers", "d_ffn", "n_published", "f_published"), TABLE13)
def test_table13_forward_flops(n_layers, d_ffn, n_published, f_published):
    # Exact count with causal attention reproduces Table 13 with n_vocab = 32768 (to 2e-4);
    # App. G.4's 32168 is off by 0.02-0.4%.
    shape = busbridge_shape(n_layers, vocab_size=32768)
    if d_ffn is not None:
        assert shape.ffn_dim == d_ffn
    assert matmul_params(shape) == pytest.approx(n_published, rel=0.01)
    assert forward_flops_per_token(shape) == pytest.approx(f_published, rel=2e-4)
    off = forward_flops_per_token(busbridge_shape(n_layers))
    assert abs(off / f_published - 1) > 1e-4
    assert forward_flops_per_token(shape, causal=False) > 1.05 * f_published


def test_busbridge_sigmas_and_formula():
    sigma1, sigma2 = busbridge_sigmas()
    assert sigma1 == pytest.approx(0.037857, abs=5e-7)
    assert sigma2 == pytest.approx(2.20128, abs=5e-6)
    assert sigma1 * 4096 == pytest.approx(155.06, abs=0.01)
    assert sigma2 * 32168 == pytest.approx(70811, abs=1)
    # F(N) equals the exact count of an idealised shape (d_ffn = 8/3 d, N = 12 L d^2, no norms)
    for n_layers in (3, 9, 40):
        d = 128 * n_layers
        n = 12 * n_layers * d * d
        exact = 2 * n + 2 * n_layers * 4096 * d + 2 * d * 32168
        assert busbridge_forward_flops(n) == pytest.approx(exact, rel=1e-12)
    # vectorised and within 0.5% of Table 13
    n = np.array([row[2] for row in TABLE13])
    f = busbridge_forward_flops(n)
    assert isinstance(f, np.ndarray) and f.shape == (4,)
    rel = f / np.array([row[3] for row in TABLE13]) - 1
    assert np.all(np.abs(rel) < 0.02)
    with pytest.raises(InputError, match="N"):
        busbridge_forward_flops(-1.0)


def test_shape_validation_names_field():
    with pytest.raises(InputError, match="d_model"):
        TransformerShape(n_layers=2, d_model=10, n_heads=3, vocab_size=5, seq_len=4)
    with pytest.raises(InputError, match="n_kv_heads"):
        TransformerShape(n_layers=2, d_model=12, n_heads=4, n_kv_heads=3, vocab_size=5, seq_len=4)
    with pytest.raises(InputError, match="n_layers"):
        TransformerShape(n_layers=0, d_model=12, n_heads=4, vocab_size=5, seq_len=4)
    with pytest.raises(InputError, match="vocab_size"):
        TransformerShape(n_layers=1, d_model=12, n_heads=4, vocab_size=2.5, seq_len=4)
    with pytest.raises(InputError, match="ffn"):
        TransformerShape(n_layers=1, d_model=12, n_heads=4, ffn="moe", vocab_size=5, seq_len=4)
    with pytest.raises(InputError, match="ffn_dim"):
        TransformerShape(n_layers=1, d_model=12, n_heads=4, ffn_dim=-1, vocab_size=5, seq_len=4)


def test_shape_is_frozen_and_hashable():
    shape = family_shape(4)
    with pytest.raises(AttributeError):
        shape.d_model = 1  # type: ignore[misc]
    assert hash(shape) == hash(family_shape(4))


def test_family_shape():
    s = family_shape(6)
    assert (s.n_layers, s.d_model, s.n_heads, s.head_dim) == (6, 384, 6, 64)
    assert s.ffn_dim == 1024 and s.qk_norm and not s.tied_embeddings
    # rounding to a multiple of head_dim, at least one head
    s = family_shape(3, aspect=40, head_dim=32)
    assert s.d_model == 128 and s.n_heads == 4
    assert family_shape(1, aspect=8).d_model == 64
    with pytest.raises(InputError, match="depth"):
        family_shape(0)


def test_non_embedding_close_to_12_l_d2():
    # MHA, plain 4d FFN: N_non_embedding = 12 L d^2 + norms (Kaplan's approximation)
    shape = TransformerShape(
        n_layers=12, d_model=768, n_heads=12, ffn="plain", vocab_size=50257, seq_len=1024
    )
    n = count_params(shape).non_embedding
    assert n - 12 * 12 * 768**2 == 25 * 768
    assert math.isclose(count_params(shape).embedding, 2 * 50257 * 768)
