"""Fixtures for the trainer tests: a fast fake model (the corpus directory is in ``tests/model/conftest.py``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kgtext.model.config import ModelConfig
from kgtext.model.ernie import Memory, NlgOutput


class MockModel(nn.Module):
    """A fake Ernie3Model (nanochat ``MockModel`` style): the same methods, one embedding and small heads.

    ``forward_nlg`` keeps a memory tensor (the mean of the previous segment's hidden states per stream),
    so memory handling in the trainer (carry, detach, checkpoint, rank slicing) is exercised.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        d = 16
        self.embed = nn.Embedding(config.vocab_size, d)
        self.segment = nn.Embedding(config.n_segment, d)
        self.nlu = nn.Linear(d, d)
        self.nlg = nn.Linear(d, d)
        self.drop = nn.Dropout(config.dropout)
        self.mlm = nn.Linear(d, config.vocab_size)
        self.lm = nn.Linear(d, config.vocab_size)
        self.sr = nn.Linear(d, config.sr_classes)
        self.sd = nn.Linear(d, config.sd_classes)

    def forward_nlu(self, input_ids: Tensor, segment_ids: Tensor | None, pad_mask: Tensor) -> Tensor:
        h = self.embed(input_ids)
        if segment_ids is not None:
            h = h + self.segment(segment_ids)
        pooled = (h * pad_mask[..., None]).sum(1, keepdim=True) / pad_mask.sum(1, keepdim=True)[..., None]
        return torch.tanh(self.nlu(self.drop(h + pooled)))

    def forward_nlg(self, input_ids: Tensor, mems: Memory | None = None) -> NlgOutput:
        h = self.embed(input_ids)
        if mems is not None and mems.length:
            h = h + mems.universal[0]  # (B, 1, d): the previous segment's mean state
        h = torch.tanh(self.nlg(self.drop(h)))
        return NlgOutput(h, Memory((h.detach().mean(1, keepdim=True),), ()))

    def init_mems(self, batch_size: int, device: torch.device | str | None = None) -> Memory:
        return Memory((torch.zeros(batch_size, 0, 16, device=device),), ())

    def mlm_logits(self, hidden: Tensor) -> Tensor:
        return self.mlm(hidden)

    def lm_logits(self, hidden: Tensor) -> Tensor:
        return self.lm(hidden)

    def sr_logits(self, cls_hidden: Tensor) -> Tensor:
        return self.sr(cls_hidden)

    def sd_logits(self, cls_hidden: Tensor) -> Tensor:
        return self.sd(cls_hidden)

    def set_dropout(self, dropout: float, dropatt: float | None = None) -> None:
        self.config = self.config.replace(dropout=dropout)
        self.drop.p = dropout
