"""Fine-tuning models: the universal module plus one task module (ERNIE 3.0 §3.1) cut out of an Ernie3Model.

``Ernie3ForNlu`` keeps embeddings, universal, NLU stack and the [CLS] pooler; ``Ernie3ForNlg`` keeps
embeddings, universal, NLG stack and the LM head. The submodules are the pre-trained ones (no copy), so
their parameter names match the full model's. Add a task head on top and fine-tune; freeze
``universal`` to tune only the task module, as the paper suggests is possible.
"""

from __future__ import annotations

import enum

from torch import Tensor, nn

from model.config import ModelConfig
from model.ernie import Ernie3Model, Memory, NlgOutput, empty_memory, run_nlg, run_nlu


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
