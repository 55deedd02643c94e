"""The ERNIE 3.0 dual-module model: token ids -> NLU hidden states (bidirectional) or NLG hidden states
(causal, with segment-level memory), plus the pre-training heads (MLM, SR, SD, LM).

Layout (ERNIE 3.0 §3.1, Fig. 1): ``embed`` -> ``universal`` (Transformer-XL, shared, width d_embed) ->
``nlu`` or ``nlg`` (each its own Transformer-XL stack with a linear projection from the universal width).
The universal module's attention mask switches with the paradigm: padding-only for NLU, causal with
memory for NLG (spec §1.3). All tensors are batch-first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple, overload

import torch
from torch import Tensor, nn

from kgtext.model.config import ModelConfig, StackConfig
from kgtext.model.heads import ClassifierHeads, Embeddings, TokenHead
from kgtext.model.layers import TxlStack

logger = logging.getLogger(__name__)


class Memory(NamedTuple):
    """Segment-level recurrence memory of the NLG path: one detached (B, M, d) tensor per layer, M <= mem_len."""

    universal: tuple[Tensor, ...]
    """Per universal layer, (B, M, d_universal)."""
    nlg: tuple[Tensor, ...]
    """Per NLG layer, (B, M, d_nlg)."""
    mask: Tensor | None = None
    """(B, M) bool, True = a real cached position; None when all are (streams without padding). Set
    after a padded segment: each row's real positions are right-aligned, the left slots masked."""

    @property
    def length(self) -> int:
        """Number of cached positions M (0 for an empty memory)."""
        return self.universal[0].size(1) if self.universal else 0

    def map(self, fn: Callable[[Tensor], Tensor]) -> Memory:
        """This memory with ``fn`` applied to every layer's tensor (``Tensor.detach``, a device move, ...)."""
        mask = None if self.mask is None else fn(self.mask)
        return Memory(tuple(fn(t) for t in self.universal), tuple(fn(t) for t in self.nlg), mask)

    def to_plain(self) -> dict[str, list[Tensor]]:
        """Plain containers of detached CPU tensors (what ``torch.load(weights_only=True)`` reads back)."""
        cpu = self.map(lambda t: t.detach().cpu())
        plain = {"universal": list(cpu.universal), "nlg": list(cpu.nlg)}
        if cpu.mask is not None:
            plain["mask"] = [cpu.mask]
        return plain

    @classmethod
    def from_plain(cls, plain: Mapping[str, Sequence[Tensor]], device: torch.device | str) -> Memory:
        """Inverse of :meth:`to_plain`, on ``device``."""
        mask = plain["mask"][0] if "mask" in plain else None
        return cls(tuple(plain["universal"]), tuple(plain["nlg"]), mask).map(lambda t: t.to(device))


class NlgOutput(NamedTuple):
    """Result of ``forward_nlg``."""

    hidden: Tensor
    """(B, T, d_nlg) NLG hidden states."""
    mems: Memory
    """The memory to pass with the next segment of the same streams."""


def _make_stack(config: ModelConfig, stack: StackConfig, d_input: int | None) -> TxlStack:
    return TxlStack(
        stack,
        d_input=d_input,
        dropout=config.dropout,
        dropatt=config.dropatt,
        pre_lnorm=config.pre_lnorm,
        clamp_len=config.clamp_len,
        eps=config.layer_norm_eps,
    )


def init_weights(module: nn.Module, std: float, embed_std: float = 0.0) -> None:
    """Normal(0, std) weights, zero biases, unit LayerNorms, zero padding embedding row; embeddings with a
    padding row (the token table) Normal(0, ``embed_std``) when ``embed_std`` > 0."""
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            nn.init.normal_(sub.weight, std=std)
            if sub.bias is not None:
                nn.init.zeros_(sub.bias)
        elif isinstance(sub, nn.Embedding):
            table_std = embed_std if embed_std > 0 and sub.padding_idx is not None else std
            nn.init.normal_(sub.weight, std=table_std)
            if sub.padding_idx is not None:
                with torch.no_grad():
                    sub.weight[sub.padding_idx].zero_()
        elif isinstance(sub, nn.LayerNorm):
            nn.init.ones_(sub.weight)
            nn.init.zeros_(sub.bias)


def _check_ids(name: str, ids: Tensor, max_len: int) -> None:
    assert ids.dim() == 2, f"{name} must be (B, T), got shape {tuple(ids.shape)}"
    assert not ids.is_floating_point(), f"{name} must hold integer ids, got {ids.dtype}"
    assert ids.size(1) <= max_len, f"cannot forward a segment of {ids.size(1)} tokens, tgt_len is {max_len}"


def empty_memory(
    config: ModelConfig, batch_size: int, like: Tensor, device: torch.device | str | None
) -> Memory:
    """A Memory with zero cached positions (dtype of ``like``)."""

    def empty(stack: StackConfig) -> tuple[Tensor, ...]:
        shape = (batch_size, 0, stack.d_model)
        return tuple(like.new_zeros(shape, device=device) for _ in range(stack.n_layer))

    return Memory(universal=empty(config.universal), nlg=empty(config.nlg_stack))


def run_nlu(
    config: ModelConfig,
    embed: Embeddings,
    universal: TxlStack,
    nlu: TxlStack,
    input_ids: Tensor,
    segment_ids: Tensor | None,
    pad_mask: Tensor,
) -> Tensor:
    """The NLU paradigm: embeddings -> universal -> NLU stack, bidirectional over real tokens, no memory."""
    _check_ids("input_ids", input_ids, config.tgt_len)
    assert pad_mask.shape == input_ids.shape and pad_mask.dtype == torch.bool, (
        f"pad_mask must be a bool tensor of shape {tuple(input_ids.shape)}, got {pad_mask.dtype} "
        f"{tuple(pad_mask.shape)}"
    )
    assert segment_ids is None or segment_ids.shape == input_ids.shape, "segment_ids must match input_ids"
    h = embed(input_ids, segment_ids)
    h = universal(h, key_mask=pad_mask, mems=None, mem_len=0, recurrence=config.recurrence).hidden
    result: Tensor = nlu(
        h, key_mask=pad_mask, mems=None, mem_len=0, recurrence=config.recurrence
    ).hidden  # (B, T, d_nlu)
    return result


def run_nlg(
    config: ModelConfig,
    embed: Embeddings,
    universal: TxlStack,
    nlg: TxlStack,
    input_ids: Tensor,
    mems: Memory | None,
    pad_mask: Tensor | None = None,
) -> NlgOutput:
    """The NLG paradigm: embeddings -> universal -> NLG stack, causal, with segment-level memory.

    ``pad_mask`` (B, T) bool, True = real token, for right-padded rows: pads are never keys of a real
    token and never enter the memory, so a padded row gives the outputs and memory of the same row alone.
    """
    _check_ids("input_ids", input_ids, config.tgt_len)
    if mems is None:
        mems = empty_memory(config, input_ids.size(0), embed.word.weight, input_ids.device)
    assert len(mems.universal) == config.universal.n_layer and len(mems.nlg) == config.nlg_stack.n_layer, (
        "memory layer count does not match the config"
    )
    assert mems.universal[0].size(0) == input_ids.size(0), (
        f"memory batch {mems.universal[0].size(0)} != input batch {input_ids.size(0)}"
    )
    valid = None
    if pad_mask is not None or mems.mask is not None:
        b, m = input_ids.size(0), mems.universal[0].size(1) if mems.universal else 0
        mem_valid = mems.mask if mems.mask is not None else input_ids.new_ones(b, m, dtype=torch.bool)
        seg_valid = pad_mask if pad_mask is not None else torch.ones_like(input_ids, dtype=torch.bool)
        assert seg_valid.shape == input_ids.shape and seg_valid.dtype == torch.bool, "pad_mask: (B, T) bool"
        valid = torch.cat([mem_valid, seg_valid], dim=1)
    h = embed(input_ids)
    mem_len, recurrence = config.mem_len, config.recurrence
    uni = universal(
        h, key_mask=None, mems=mems.universal, mem_len=mem_len, recurrence=recurrence, causal_valid=valid
    )
    out = nlg(
        uni.hidden, key_mask=None, mems=mems.nlg, mem_len=mem_len, recurrence=recurrence, causal_valid=valid
    )
    assert uni.mems is not None and out.mems is not None
    return NlgOutput(hidden=out.hidden, mems=Memory(universal=uni.mems, nlg=out.mems, mask=uni.mem_mask))


class Ernie3Model(nn.Module):
    """Universal Transformer-XL module shared by an NLU and an NLG Transformer-XL task module, with heads."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config: ModelConfig = config
        d_u = config.universal.d_model
        self.embed = Embeddings(config)
        self.universal = _make_stack(config, config.universal, None)
        self.nlu = _make_stack(config, config.nlu, d_u)
        # A shared task module is one stack registered under both names (its parameters counted once).
        self.nlg = self.nlu if config.shared_task_module else _make_stack(config, config.nlg, d_u)
        self.mlm_head = TokenHead(config, config.nlu.d_model, self.embed.word, transform=True)
        self.lm_head = TokenHead(config, config.nlg_stack.d_model, self.embed.word, transform=False)
        self.cls_heads = ClassifierHeads(config)
        init_weights(self, config.init_std, config.embed_init_std)

    # ---- forward paths -------------------------------------------------------------------------------
    def forward_nlu(self, input_ids: Tensor, segment_ids: Tensor | None, pad_mask: Tensor) -> Tensor:
        """(B, T) ids, (B, T) segment ids or None, (B, T) bool True = real token -> (B, T, d_nlu)."""
        return run_nlu(self.config, self.embed, self.universal, self.nlu, input_ids, segment_ids, pad_mask)

    def forward_nlg(
        self, input_ids: Tensor, mems: Memory | None = None, pad_mask: Tensor | None = None
    ) -> NlgOutput:
        """(B, T) ids, the memory of the previous segment (None = start of the streams) and optionally the
        (B, T) pad mask of right-padded rows (True = real token) -> NlgOutput."""
        return run_nlg(self.config, self.embed, self.universal, self.nlg, input_ids, mems, pad_mask)

    def init_mems(self, batch_size: int, device: torch.device | str | None = None) -> Memory:
        """An empty memory (zero cached positions) for ``batch_size`` streams."""
        return empty_memory(self.config, batch_size, self.embed.word.weight, device)

    # ---- heads ---------------------------------------------------------------------------------------
    def mlm_logits(self, hidden: Tensor) -> Tensor:
        """Masked-token logits (KMLM, UKTP): (..., d_nlu) -> (..., vocab)."""
        result: Tensor = self.mlm_head(hidden)
        return result

    def sr_logits(self, cls_hidden: Tensor) -> Tensor:
        """Sentence-reordering logits: (B, d_nlu) -> (B, sr_classes)."""
        return self.cls_heads.sr_logits(cls_hidden)

    def sd_logits(self, cls_hidden: Tensor) -> Tensor:
        """Sentence-distance logits: (B, d_nlu) -> (B, sd_classes)."""
        return self.cls_heads.sd_logits(cls_hidden)

    def lm_logits(self, hidden: Tensor) -> Tensor:
        """Next-token logits (DLM): (..., d_nlg) -> (..., vocab)."""
        result: Tensor = self.lm_head(hidden)
        return result

    # ---- bookkeeping ---------------------------------------------------------------------------------
    def init_token_bias(self, log_probs: Tensor) -> None:
        """Start the MLM and LM heads' output biases at ``log_probs`` (vocab,): the log unigram distribution
        of the corpus, so the first steps need not build an input-independent vector to predict it (the
        representation collapse of docs/TRAINING.md)."""
        assert log_probs.shape == (self.config.vocab_size,), f"log_probs must be ({self.config.vocab_size},)"
        with torch.no_grad():
            for head in (self.mlm_head, self.lm_head):
                head.output_bias.copy_(log_probs.to(head.output_bias))

    def set_dropout(self, dropout: float, dropatt: float | None = None) -> None:
        """Change dropout rates in place (progressive learning); ``self.config`` follows."""
        dropatt = self.config.dropatt if dropatt is None else dropatt
        self.config = self.config.replace(dropout=dropout, dropatt=dropatt)
        for sub in self.modules():
            if isinstance(sub, nn.Dropout):
                sub.p = dropout
            elif hasattr(sub, "dropatt"):
                setattr(sub, "dropatt", dropatt)  # noqa: B010  (RelMultiHeadAttention's SDPA dropout)

    @overload
    def num_parameters(self, by_module: Literal[False] = False) -> int: ...
    @overload
    def num_parameters(self, by_module: Literal[True]) -> dict[str, int]: ...
    def num_parameters(self, by_module: bool = False) -> int | dict[str, int]:
        """Total trainable parameters, or a per-module breakdown (children names + ``total``)."""
        counts = {name: sum(p.numel() for p in child.parameters()) for name, child in self.named_children()}
        counts["total"] = sum(p.numel() for p in self.parameters())
        return counts if by_module else counts["total"]
