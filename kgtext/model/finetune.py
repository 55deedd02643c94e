"""Fine-tuning models: the universal module plus one task module (ERNIE 3.0 §3.1) cut out of an Ernie3Model.

``Ernie3ForNlu`` keeps embeddings, universal, NLU stack and the [CLS] pooler; ``Ernie3ForNlg`` keeps
embeddings, universal, NLG stack and the LM head. The submodules are the pre-trained ones (no copy), so
their parameter names match the full model's. Add a task head on top and fine-tune; freeze
``universal`` to tune only the task module, as the paper suggests is possible. :func:`align_segments` gives a
sentence-pair head what the [CLS] vector of a small or untrained model does not carry: how each piece of one
segment matches the other segment (docs/TRAINING.md, "Fine-tuning").
"""

from __future__ import annotations

import enum

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kgtext.model.config import ModelConfig
from kgtext.model.ernie import Ernie3Model, Memory, NlgOutput, empty_memory, run_nlg, run_nlu

ALIGN_TEMPERATURE = 0.1
"""Softmax temperature over cosine similarities in :func:`align_segments`: a piece whose best match has
cosine 0.6 against 0.0 for the rest gets e^6 ~ 400 times their weight, so the aligned vector is about that
one piece."""


class Paradigm(enum.Enum):
    """Which task module a fine-tuning model keeps."""

    NLU = "nlu"
    NLG = "nlg"


class Ernie3ForNlu(nn.Module):
    """Universal + NLU modules: (B, T) ids -> (B, T, d_nlu), bidirectional; ``pool`` gives the [CLS] vector."""

    def __init__(self, model: Ernie3Model) -> None:
        super().__init__()
        self.config: ModelConfig = model.config
        self.embed = model.embed
        self.universal = model.universal
        self.nlu = model.nlu
        self.pooler = model.cls_heads.pooler

    def forward(self, input_ids: Tensor, segment_ids: Tensor | None, pad_mask: Tensor) -> Tensor:
        return run_nlu(self.config, self.embed, self.universal, self.nlu, input_ids, segment_ids, pad_mask)

    def pool(self, hidden: Tensor) -> Tensor:
        """(B, T, d_nlu) -> (B, d_nlu): the pre-trained tanh pooler over position 0 ([CLS])."""
        result: Tensor = self.pooler(hidden[:, 0])
        return result


def segment_mean(hidden: Tensor, mask: Tensor) -> Tensor:
    """(B, T, d) states, (B, T) 0/1 mask -> (B, d) mean over the masked positions (zeros for none)."""
    return (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)


def align_segments(hidden: Tensor, first: Tensor, second: Tensor) -> tuple[Tensor, Tensor]:
    """Cross-segment alignment features of a sentence pair (ESIM's local inference, Chen et al. 2017 §3.2,
    on the encoder's own states): (B, d) for the first segment's pieces, (B, d) for the second's.

    ``hidden`` (B, T, d) final NLU states; ``first`` / ``second`` (B, T) 0/1 masks of each segment's text
    pieces ([CLS] / [SEP] left out). Each segment is centred on its own mean, so a shift shared by all of a
    segment's pieces (its segment embedding, say) cannot change the comparison, then unit-normalised. Every
    piece of one segment is soft-aligned (softmax over cosines / :data:`ALIGN_TEMPERATURE`) to the pieces of
    the other; the feature is the mean over the segment of ``piece * aligned`` (times d: each coordinate
    O(1)), whose sum over coordinates is the mean best-match cosine. A linear head reads it with d weights.
    """
    d = hidden.size(-1)
    centred = hidden - first[..., None] * segment_mean(hidden, first)[:, None]
    centred = centred - second[..., None] * segment_mean(hidden, second)[:, None]
    unit = F.normalize(centred, dim=-1)  # (B, T, d)
    scores = unit @ unit.transpose(1, 2) / ALIGN_TEMPERATURE  # (B, T, T) cosine / temperature

    def aligned(src: Tensor, dst: Tensor) -> Tensor:
        weights = scores.masked_fill(dst[:, None, :] == 0, float("-inf")).softmax(-1)  # (B, T, T) over dst
        weights = torch.nan_to_num(weights, nan=0.0)  # a row with no dst piece (no second segment)
        return segment_mean(unit * (weights @ unit) * d, src)

    return aligned(first, second), aligned(second, first)


class Ernie3ForNlg(nn.Module):
    """Universal + NLG modules with the LM head: (B, T) ids + memory -> NlgOutput; ``lm_logits`` on top."""

    def __init__(self, model: Ernie3Model) -> None:
        super().__init__()
        self.config: ModelConfig = model.config
        self.embed = model.embed
        self.universal = model.universal
        self.nlg = model.nlg
        self.lm_head = model.lm_head

    def forward(
        self, input_ids: Tensor, mems: Memory | None = None, pad_mask: Tensor | None = None
    ) -> NlgOutput:
        return run_nlg(self.config, self.embed, self.universal, self.nlg, input_ids, mems, pad_mask)

    def init_mems(self, batch_size: int) -> Memory:
        return empty_memory(self.config, batch_size, self.embed.word.weight, None)

    def lm_logits(self, hidden: Tensor) -> Tensor:
        result: Tensor = self.lm_head(hidden)
        return result


def split_for_finetuning(model: Ernie3Model, paradigm: Paradigm | str) -> nn.Module:
    """The universal module plus the ``paradigm`` task module of ``model`` (shares its parameters)."""
    try:
        kind = Paradigm(paradigm)
    except ValueError:
        raise ValueError(f"paradigm must be one of {[p.value for p in Paradigm]}, got {paradigm!r}") from None
    return Ernie3ForNlu(model) if kind is Paradigm.NLU else Ernie3ForNlg(model)
