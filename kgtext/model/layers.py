"""Transformer-XL building blocks: hidden states (B, T, d) [+ memory (B, M, d)] -> hidden states (B, T, d).

Relative multi-head attention follows Transformer-XL (Dai et al. 2019, §3.3, eq. (4)):
``score_ij = (q_i + u) . k_j + (q_i + v) . W_R R_{i-j}``, scaled by 1/sqrt(d_head), with sinusoidal R and
learned per-layer u, v. The position term (b)+(d) is computed for every distance once as a (T, P) matrix and
moved into (T, K) key order by ``rel_shift`` (a reshape, no loop); it then enters
``torch.nn.functional.scaled_dot_product_attention`` as an additive float mask together with the -inf mask,
so the content term (a)+(c) and the softmax run in the fused kernel.

Distances run over both signs (``K-1 .. -(T-1)``) so the same code serves the bidirectional NLU path and the
causal NLG path; the causal mask hides the negative ones.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from kgtext.model.config import Recurrence, StackConfig

logger = logging.getLogger(__name__)


def relative_positions(k_len: int, q_len: int, clamp_len: int, device: torch.device) -> Tensor:
    """Distances i - j for key order: ``K-1, K-2, ..., -(T-1)`` (length K + T - 1), clamped to +-clamp_len."""
    pos = torch.arange(k_len - 1, -q_len, -1, device=device, dtype=torch.float32)
    if clamp_len > 0:
        pos = pos.clamp(min=-clamp_len, max=clamp_len)
    return pos


class SinusoidalEncoding(nn.Module):
    """Sinusoidal encoding of (signed) relative distances: (P,) -> (P, d_model), [sin, cos] halves (TXL §3.3)."""

    inv_freq: Tensor

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.d_model = d_model
        self.register_buffer("inv_freq", self._inv_freq(None), persistent=False)

    def _inv_freq(self, device: torch.device | None) -> Tensor:
        return 1.0 / (10000 ** (torch.arange(0.0, self.d_model, 2.0, device=device) / self.d_model))

    def reset_buffers(self, device: torch.device | str) -> None:
        """Recompute the (non-persistent) frequencies on ``device``, e.g. after building on the meta device."""
        self.inv_freq = self._inv_freq(torch.device(device))

    def forward(self, pos_seq: Tensor) -> Tensor:
        sinusoid = torch.outer(pos_seq, self.inv_freq.to(pos_seq.device))  # (P, d_model / 2)
        return torch.cat([sinusoid.sin(), sinusoid.cos()], dim=-1)  # (P, d_model)


def rel_shift(x: Tensor, k_len: int) -> Tensor:
    """(B, H, T, P) scores per distance (P = K + T - 1, column c = distance K-1-c) -> (B, H, T, K) per key.

    Query i (absolute key position M + i) and key j are at distance M + i - j, which is column T-1-i+j.
    Row i therefore starts T-1-i columns in: reading the rows with stride P-1 instead of P from offset T-1
    lines every row up (the TXL pad-and-reshape trick, generalised to both signs). A strided view: no copy
    forward, one scatter backward; also right for T = 1 (one-token steps), where P = K.
    """
    b, h, t, p = x.shape
    x = x.contiguous()
    return x.as_strided((b, h, t, k_len), (h * t * p, t * p, p - 1, 1), x.storage_offset() + t - 1)


class RelMultiHeadAttention(nn.Module):
    """Multi-head attention with Transformer-XL relative positions over [memory; current] keys."""

    def __init__(self, stack: StackConfig, *, dropout: float, dropatt: float) -> None:
        super().__init__()
        self.n_head, self.d_head = stack.n_head, stack.d_head
        inner = stack.n_head * stack.d_head
        self.q_net = nn.Linear(stack.d_model, inner, bias=False)
        self.kv_net = nn.Linear(stack.d_model, 2 * inner, bias=False)
        self.r_net = nn.Linear(stack.d_model, inner, bias=False)  # W_R of eq. (4)
        self.o_net = nn.Linear(inner, stack.d_model, bias=False)
        self.r_w_bias = nn.Parameter(torch.zeros(stack.n_head, stack.d_head))  # u
        self.r_r_bias = nn.Parameter(torch.zeros(stack.n_head, stack.d_head))  # v
        self.drop = nn.Dropout(dropout)
        self.dropatt = dropatt
        self.scale = 1.0 / math.sqrt(stack.d_head)

    def forward(self, query: Tensor, context: Tensor, pos_emb: Tensor, allowed: Tensor) -> Tensor:
        """query (B, T, d), context = [mem; query] (B, K, d), pos_emb (K+T-1, d), allowed bool -> (B, T, d)."""
        b, t, _ = query.shape
        k_len = context.size(1)
        q = self.q_net(query).view(b, t, self.n_head, self.d_head).transpose(1, 2)  # (B, H, T, dh)
        k, v = self.kv_net(context).view(b, k_len, 2, self.n_head, self.d_head).permute(2, 0, 3, 1, 4)
        r = self.r_net(pos_emb).view(-1, self.n_head, self.d_head).permute(1, 2, 0)  # (H, dh, P)
        # Terms (b) + (d), pre-scaled on the small (B, H, T, dh) side: (B, H, T, P) -> (B, H, T, K).
        bd = torch.matmul((q + self.r_r_bias[:, None, :]) * self.scale, r)
        bias = rel_shift(bd, k_len).masked_fill(~allowed, float("-inf"))
        out = F.scaled_dot_product_attention(
            q + self.r_w_bias[:, None, :],  # terms (a) + (c)
            k,
            v,
            attn_mask=bias.to(q.dtype),
            dropout_p=self.dropatt if self.training else 0.0,
            scale=self.scale,
        )  # (B, H, T, dh)
        result: Tensor = self.drop(self.o_net(out.transpose(1, 2).reshape(b, t, self.n_head * self.d_head)))
        return result


class FeedForward(nn.Module):
    """Position-wise GeLU feed-forward block (B, T, d) -> (B, T, d)."""

    def __init__(self, stack: StackConfig, *, dropout: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(stack.d_model, stack.d_inner)
        self.fc2 = nn.Linear(stack.d_inner, stack.d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        result: Tensor = self.drop(self.fc2(self.drop(F.gelu(self.fc1(x)))))
        return result


class TxlLayer(nn.Module):
    """One Transformer-XL layer: relative attention + feed-forward, pre- or post-LayerNorm."""

    def __init__(
        self, stack: StackConfig, *, dropout: float, dropatt: float, pre_lnorm: bool, eps: float
    ) -> None:
        super().__init__()
        self.attn = RelMultiHeadAttention(stack, dropout=dropout, dropatt=dropatt)
        self.ff = FeedForward(stack, dropout=dropout)
        self.ln_attn = nn.LayerNorm(stack.d_model, eps=eps)
        self.ln_ff = nn.LayerNorm(stack.d_model, eps=eps)
        self.pre_lnorm = pre_lnorm

    def forward(self, h: Tensor, mem: Tensor | None, pos_emb: Tensor, allowed: Tensor) -> Tensor:
        """h (B, T, d), mem (B, M, d) or None -> (B, T, d)."""
        context = h if mem is None or mem.size(1) == 0 else torch.cat([mem.to(h.dtype), h], dim=1)
        if self.pre_lnorm:
            # LayerNorm over [mem; h] so memory keys are normalised like current ones (TXL pre_lnorm).
            ctx = self.ln_attn(context)
            h = h + self.attn(ctx[:, -h.size(1) :], ctx, pos_emb, allowed)
            h = h + self.ff(self.ln_ff(h))
            return h
        h = self.ln_attn(h + self.attn(h, context, pos_emb, allowed))
        h = self.ln_ff(h + self.ff(h))
        return h


class StackOutput(NamedTuple):
    """Result of a stack: last hidden states and the updated per-layer memory (None when not tracked)."""

    hidden: Tensor
    """(B, T, d_model) after the final LayerNorm (pre-LN) or the last layer (post-LN)."""
    mems: tuple[Tensor, ...] | None
    """One detached (B, <= mem_len, d_model) tensor per layer, or None when the call used no memory."""
    mem_mask: Tensor | None = None
    """(B, M) bool, True = a real cached position, when rows hold fewer real positions than M (padded
    input); None when every cached position is real."""


def compact_memory_index(valid: Tensor, mem_len: int) -> tuple[Tensor, Tensor | None]:
    """Where the last ``mem_len`` real positions of each row go in the next memory.

    ``valid`` (B, K) marks real positions of [memory; segment]. Returns ``index`` (B, M) into K and ``mask``
    (B, M): each row's kept real positions are right-aligned (the most recent last, so relative distances
    to the next segment are those of an unpadded row) and the left slots masked; ``mask`` is None when all
    ``M`` slots of every row are real.
    """
    from_end = valid.flip(1).cumsum(1).flip(1)  # (B, K): rank of a real position counted from the end
    keep = valid & (from_end <= mem_len)
    m = int(keep.sum(1).max()) if keep.numel() else 0
    slot = (m - from_end).clamp(min=0)
    index = torch.zeros(valid.size(0), m, dtype=torch.long, device=valid.device)
    mask = torch.zeros(valid.size(0), m, dtype=torch.bool, device=valid.device)
    rows, cols = keep.nonzero(as_tuple=True)
    index[rows, slot[rows, cols]] = cols
    mask[rows, slot[rows, cols]] = True
    return index, (None if bool(mask.all()) else mask)


def gather_memory(old: Tensor | None, new: Tensor, index: Tensor, mask: Tensor | None) -> Tensor:
    """[old; new] at ``index`` (from :func:`compact_memory_index`), masked slots zeroed, detached."""
    with torch.no_grad():
        cat = new if old is None or old.size(1) == 0 else torch.cat([old.to(new.dtype), new], dim=1)
        out = cat.gather(1, index[..., None].expand(-1, -1, cat.size(2)))
        if mask is not None:
            out = out.masked_fill(~mask[..., None], 0.0)
        return out.detach()


def update_memory(old: Tensor | None, new: Tensor, mem_len: int) -> Tensor:
    """Keep the last ``mem_len`` positions of [old; new], detached (no gradient through memory, TXL §3.2)."""
    with torch.no_grad():
        cat = new if old is None or old.size(1) == 0 else torch.cat([old.to(new.dtype), new], dim=1)
        start = max(0, cat.size(1) - mem_len)
        return cat[:, start:].detach()


class TxlStack(nn.Module):
    """A stack of Transformer-XL layers with its own width, optionally projecting its input from another width."""

    def __init__(
        self,
        stack: StackConfig,
        *,
        d_input: int | None,
        dropout: float,
        dropatt: float,
        pre_lnorm: bool,
        clamp_len: int,
        eps: float,
    ) -> None:
        super().__init__()
        self.stack = stack
        # Interface between widths (spec §1.2 leaves it open): a linear map, absent at the bottom stack.
        self.in_proj = nn.Linear(d_input, stack.d_model) if d_input is not None else None
        self.pos_enc = SinusoidalEncoding(stack.d_model)
        self.pos_drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            TxlLayer(stack, dropout=dropout, dropatt=dropatt, pre_lnorm=pre_lnorm, eps=eps)
            for _ in range(stack.n_layer)
        )
        self.ln_final = nn.LayerNorm(stack.d_model, eps=eps) if pre_lnorm else None
        self.clamp_len = clamp_len

    def forward(
        self,
        h: Tensor,
        *,
        key_mask: Tensor | None,
        mems: tuple[Tensor, ...] | None,
        mem_len: int,
        recurrence: Recurrence,
        causal_valid: Tensor | None = None,
    ) -> StackOutput:
        """h (B, T, d_input); key_mask (B, T) True = real token selects the bidirectional mask, None causal.

        ``mems`` (one (B, M, d) tensor per layer) is only allowed on the causal path. ``causal_valid``
        (B, M + T), causal path only, marks the real positions of [memory; segment] of padded rows: pads are
        never keys of a real query and never enter the memory (None: every position is real).
        """
        if self.in_proj is not None:
            h = self.in_proj(h)
        b, t, _ = h.shape
        m_len = 0 if mems is None else mems[0].size(1)
        if mems is not None and len(mems) != len(self.layers):
            raise ValueError(f"expected {len(self.layers)} memory tensors, got {len(mems)}")
        k_len = m_len + t
        if key_mask is None:  # causal: query i (key position m_len + i) sees keys j <= m_len + i
            allowed = torch.ones(t, k_len, dtype=torch.bool, device=h.device).tril(diagonal=m_len)
            if causal_valid is not None:
                assert causal_valid.shape == (b, k_len), f"causal_valid must be (B, M + T) = {(b, k_len)}"
                # A query always sees itself, so a pad query with no real key gets no NaN.
                own = torch.zeros(t, k_len, dtype=torch.bool, device=h.device)
                own[torch.arange(t), m_len + torch.arange(t)] = True
                allowed = (allowed & causal_valid[:, None, None, :]) | own
        else:
            assert mems is None, "the bidirectional path takes no memory"
            allowed = key_mask[:, None, None, :]  # (B, 1, 1, K)
        pos = relative_positions(k_len, t, self.clamp_len, h.device)
        pos_emb = self.pos_drop(self.pos_enc(pos).to(h.dtype))  # (K + T - 1, d)
        compact = (
            None if mems is None or causal_valid is None else compact_memory_index(causal_valid, mem_len)
        )
        new_mems: list[Tensor] = []
        for i, layer in enumerate(self.layers):
            mem = None if mems is None else mems[i]
            out = layer(h, mem, pos_emb, allowed)
            if mems is not None:
                cached = out if recurrence is Recurrence.SAME_LAYER else h
                if compact is None:
                    new_mems.append(update_memory(mem, cached, mem_len))
                else:
                    new_mems.append(gather_memory(mem, cached, *compact))
            h = out
        if self.ln_final is not None:
            h = self.ln_final(h)
        mem_mask = compact[1] if compact is not None else None
        return StackOutput(hidden=h, mems=tuple(new_mems) if mems is not None else None, mem_mask=mem_mask)
