"""Transformer-XL blocks: rel_shift, relative attention against a direct per-(i, j) evaluation, memory update."""

from __future__ import annotations

import math

import torch

from kgtext.model.config import StackConfig
from kgtext.model.layers import (
    RelMultiHeadAttention,
    SinusoidalEncoding,
    rel_shift,
    relative_positions,
    update_memory,
)


def test_relative_positions_cover_both_signs_and_clamp() -> None:
    pos = relative_positions(k_len=5, q_len=3, clamp_len=0, device=torch.device("cpu"))
    assert pos.tolist() == [4.0, 3.0, 2.0, 1.0, 0.0, -1.0, -2.0]
    clamped = relative_positions(k_len=5, q_len=3, clamp_len=2, device=torch.device("cpu"))
    assert clamped.tolist() == [2.0, 2.0, 2.0, 1.0, 0.0, -1.0, -2.0]


def test_rel_shift_moves_distance_columns_to_key_order() -> None:
    t, m = 3, 2
    k = m + t
    p = k + t - 1
    # x[i, c] = the distance that column c stands for (K - 1 - c); after the shift entry (i, j) must hold M + i - j.
    x = (k - 1 - torch.arange(p)).float().expand(1, 1, t, p).clone() + 100 * torch.arange(t)[:, None]
    out = rel_shift(x, k)
    expected = torch.tensor([[m + i - j + 100 * i for j in range(k)] for i in range(t)]).float()
    assert torch.equal(out[0, 0], expected)


def test_rel_shift_single_query_and_gradient() -> None:
    x = torch.arange(3.0).view(1, 1, 1, 3).requires_grad_()  # T = 1, M = 2: P = K = 3
    out = rel_shift(x, 3)
    assert out.tolist() == [[[[0.0, 1.0, 2.0]]]]
    big = torch.randn(2, 2, 4, 9, requires_grad=True)  # T = 4, M = 2: K = 6, P = 9
    (grad,) = torch.autograd.grad(rel_shift(big, 6).sum(), big)
    # every (i, j) reads a distinct column T-1-i+j of row i: 6 ones per row, at columns 3-i .. 8-i
    expected = torch.zeros(4, 9)
    for i in range(4):
        expected[i, 3 - i : 9 - i] = 1.0
    assert torch.equal(grad[1, 1], expected)


def test_sinusoidal_encoding_values() -> None:
    enc = SinusoidalEncoding(4)
    out = enc(torch.tensor([0.0, 2.0, -1.0]))
    # inv_freq = [1, 1/100]; layout [sin(p*f0), sin(p*f1), cos(p*f0), cos(p*f1)]
    expected = torch.tensor(
        [
            [0.0, 0.0, 1.0, 1.0],
            [math.sin(2), math.sin(0.02), math.cos(2), math.cos(0.02)],
            [math.sin(-1), math.sin(-0.01), math.cos(-1), math.cos(-0.01)],
        ]
    )
    torch.testing.assert_close(out, expected)


def _reference_attention(
    attn: RelMultiHeadAttention,
    h: torch.Tensor,
    ctx: torch.Tensor,
    allowed: torch.Tensor,
    pos_emb: torch.Tensor,
) -> torch.Tensor:
    """TXL eq. (4) evaluated entry by entry: score_ij = (q_i+u).k_j + (q_i+v).W_R R_{M+i-j}."""
    b, t, _ = h.shape
    k_len, nh, dh = ctx.size(1), attn.n_head, attn.d_head
    q = attn.q_net(h).view(b, t, nh, dh)
    key, val = attn.kv_net(ctx).view(b, k_len, 2, nh, dh).unbind(2)
    r = attn.r_net(pos_emb).view(-1, nh, dh)
    scores = torch.empty(b, nh, t, k_len)
    m = k_len - t
    for i in range(t):
        for j in range(k_len):
            r_ij = r[(k_len - 1) - (m + i - j)]  # the row of distance M + i - j
            ac = ((q[:, i] + attn.r_w_bias) * key[:, j]).sum(-1)
            bd = ((q[:, i] + attn.r_r_bias) * r_ij).sum(-1)
            scores[:, :, i, j] = (ac + bd) / math.sqrt(dh)
    scores = scores.masked_fill(~allowed, float("-inf"))
    out = torch.einsum("bhij,bjhd->bihd", scores.softmax(-1), val).reshape(b, t, nh * dh)
    return attn.o_net(out)


def test_relative_attention_matches_direct_evaluation_with_memory_and_causal_mask() -> None:
    torch.manual_seed(0)
    stack = StackConfig(n_layer=1, d_model=8, n_head=2, d_inner=16)
    attn = RelMultiHeadAttention(stack, dropout=0.0, dropatt=0.0).eval()
    torch.nn.init.normal_(attn.r_w_bias)
    torch.nn.init.normal_(attn.r_r_bias)
    t, m = 4, 3
    h, mem = torch.randn(2, t, 8), torch.randn(2, m, 8)
    ctx = torch.cat([mem, h], 1)
    allowed = torch.ones(t, m + t, dtype=torch.bool).tril(diagonal=m)
    pos_emb = SinusoidalEncoding(8)(relative_positions(m + t, t, 0, torch.device("cpu")))
    with torch.no_grad():
        got = attn(h, ctx, pos_emb, allowed)
        want = _reference_attention(attn, h, ctx, allowed, pos_emb)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_relative_attention_matches_direct_evaluation_bidirectional_with_padding() -> None:
    torch.manual_seed(1)
    stack = StackConfig(n_layer=1, d_model=8, n_head=2, d_inner=16)
    attn = RelMultiHeadAttention(stack, dropout=0.0, dropatt=0.0).eval()
    torch.nn.init.normal_(attn.r_r_bias)
    t = 5
    h = torch.randn(2, t, 8)
    key_mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    allowed = key_mask[:, None, None, :]
    pos_emb = SinusoidalEncoding(8)(relative_positions(t, t, 0, torch.device("cpu")))
    with torch.no_grad():
        got = attn(h, h, pos_emb, allowed)
        want = _reference_attention(attn, h, h, allowed, pos_emb)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_update_memory_keeps_last_mem_len_positions_detached() -> None:
    old = torch.arange(6.0).view(1, 3, 2)
    new = (10 + torch.arange(8.0)).view(1, 4, 2).requires_grad_()
    mem = update_memory(old, new, mem_len=5)
    assert mem.shape == (1, 5, 2)
    assert mem[0, :, 0].tolist() == [4.0, 10.0, 12.0, 14.0, 16.0]
    assert not mem.requires_grad and mem.grad_fn is None
    assert update_memory(None, new, mem_len=0).shape == (1, 0, 2)
    assert update_memory(None, new, mem_len=9).shape == (1, 4, 2)
