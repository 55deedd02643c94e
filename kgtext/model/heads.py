"""Embeddings and output heads: token ids -> (B, T, d_embed); task hidden states -> logits.

Token heads (masked-token prediction for KMLM/UKTP on the NLU side, next-token prediction for DLM on the NLG
side) either reuse the input embedding matrix through a projection from the task width back to the
embedding width (``tie_token_heads=True``; 768 -> 4096 in the paper's shape) or own a full output matrix.
"""

from __future__ import annotations

import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from kgtext.model.config import ModelConfig


class Embeddings(nn.Module):
    """Token plus segment embeddings (segment 0 when none given) with dropout: (B, T) -> (B, T, d_embed)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.word = nn.Embedding(config.vocab_size, config.d_embed, padding_idx=config.pad_id)
        self.segment = nn.Embedding(config.n_segment, config.d_embed)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, input_ids: Tensor, segment_ids: Tensor | None = None) -> Tensor:
        # Missing segment ids mean segment 0 (BERT habit): the segment table is then used by every step,
        # which keeps DDP from seeing it as an unused parameter.
        if segment_ids is None:
            segment: Tensor = self.segment.weight[0]  # (d_embed,), broadcast over (B, T)
        else:
            segment = self.segment(segment_ids)  # (B, T, d_embed)
        result: Tensor = self.drop(self.word(input_ids) + segment)
        return result


class TokenHead(nn.Module):
    """(..., d_task) -> (..., vocab): optional BERT-style transform, then tied or untied vocabulary logits."""

    def __init__(self, config: ModelConfig, d_task: int, embedding: nn.Embedding, *, transform: bool) -> None:
        super().__init__()
        self.transform = (
            nn.Sequential(
                nn.Linear(d_task, d_task), nn.GELU(), nn.LayerNorm(d_task, eps=config.layer_norm_eps)
            )
            if transform
            else None
        )
        self.tied = config.tie_token_heads
        # A tied head references the embedding without registering it: Embeddings owns (and saves) it once.
        self._embedding: tuple[nn.Embedding, ...] = (embedding,) if self.tied else ()
        self.proj: nn.Linear | None = nn.Linear(d_task, config.d_embed, bias=False) if self.tied else None
        self.bias = nn.Parameter(embedding.weight.new_zeros(config.vocab_size)) if self.tied else None
        self.decoder: nn.Linear | None = None if self.tied else nn.Linear(d_task, config.vocab_size)

    @property
    def output_bias(self) -> Tensor:
        """The (vocab,) bias added to the logits (tied: ``bias``; untied: the decoder's)."""
        bias = self.bias if self.decoder is None else self.decoder.bias
        assert bias is not None
        return bias

    def forward(self, hidden: Tensor) -> Tensor:
        if self.transform is not None:
            hidden = self.transform(hidden)
        if self.decoder is not None:
            result: Tensor = self.decoder(hidden)
            return result
        assert self.proj is not None
        return F.linear(self.proj(hidden), self._embedding[0].weight, self.bias)


class ClassifierHeads(nn.Module):
    """Sentence-level heads on the NLU [CLS] state: shared tanh pooler, then SR (k-way) and SD (3-way)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        d = config.nlu.d_model
        self.pooler = nn.Sequential(nn.Linear(d, d), nn.Tanh())
        self.drop = nn.Dropout(config.dropout)
        self.sr = nn.Linear(d, config.sr_classes)
        self.sd = nn.Linear(d, config.sd_classes)

    def sr_logits(self, cls_hidden: Tensor) -> Tensor:
        result: Tensor = self.sr(self.drop(self.pooler(cls_hidden)))
        return result

    def sd_logits(self, cls_hidden: Tensor) -> Tensor:
        result: Tensor = self.sd(self.drop(self.pooler(cls_hidden)))
        return result
