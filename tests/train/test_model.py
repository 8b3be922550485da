import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from distillscale.flops import TransformerShape, count_params, family_shape, forward_flops_per_token
from distillscale.train.model import GPT

torch.set_num_threads(1)

SHAPES = [
    family_shape(2, seq_len=32),
    TransformerShape(
        n_layers=2,
        d_model=96,
        n_heads=6,
        n_kv_heads=2,
        ffn="plain",
        vocab_size=300,
        seq_len=32,
        tied_embeddings=True,
        qk_norm=False,
    ),
    TransformerShape(
        n_layers=3,
        d_model=64,
        n_heads=4,
        n_kv_heads=1,
        ffn="gated",
        ffn_dim=100,
        vocab_size=50,
        seq_len=16,
        tied_embeddings=False,
        qk_norm=True,
    ),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_numel_groups_equal_accountant(shape):
    model = GPT(shape)
    groups = model.param_groups()
    counts = count_params(shape)
    assert sum(p.numel() for p in groups["non_embedding"]) == counts.non_embedding
    assert sum(p.numel() for p in groups["embedding"]) == counts.embedding
    assert sum(p.numel() for p in model.parameters()) == counts.total


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_flops_equal_counted_matmuls(shape):
    # FlopCounterMode counts every matmul (2 FLOPs per multiply-add) of the math attention
    # kernel, which computes the full T x T score matrix: the accountant's causal=False count.
    # The accountant's default (causal=True) charges half of that attention term.
    model = GPT(shape)
    x = torch.randint(0, shape.vocab_size, (2, shape.seq_len))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(x)
    per_token = counter.get_total_flops() / x.numel()
    assert per_token == forward_flops_per_token(shape, causal=False)
    attention_full = 4 * shape.n_layers * shape.seq_len * shape.d_model
    assert forward_flops_per_token(shape) == per_token - attention_full / 2


def test_one_dial_spans_1e4_to_1e9_parameters():
    small = count_params(family_shape(1, aspect=32, head_dim=32)).non_embedding
    large = count_params(family_shape(32)).non_embedding
    assert small < 3e4 and large > 1e9
    sizes = [count_params(family_shape(d)).non_embedding for d in range(1, 33)]
    assert sizes == sorted(sizes)
    with torch.device("meta"):  # build the 1e9 model without allocating it
        big = GPT(family_shape(32))
    assert sum(p.numel() for p in big.param_groups()["non_embedding"]) == large


def test_attention_is_causal():
    torch.manual_seed(0)
    shape = SHAPES[2]
    model = GPT(shape).eval()
    x = torch.randint(0, shape.vocab_size, (1, shape.seq_len))
    y = x.clone()
    y[0, 10:] = (y[0, 10:] + 1) % shape.vocab_size
    with torch.no_grad():
        a, b = model(x), model(y)
    torch.testing.assert_close(a[0, :10], b[0, :10])
    assert not torch.allclose(a[0, 10:], b[0, 10:])


def test_tied_embeddings_share_storage_and_init_is_seeded():
    torch.manual_seed(3)
    a = GPT(SHAPES[1])
    torch.manual_seed(3)
    b = GPT(SHAPES[1])
    assert a.lm_head.weight is a.embed.weight
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
