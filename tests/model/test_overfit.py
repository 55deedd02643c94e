"""A 2-layer model (1 universal + 1 task layer) overfits one batch of each pre-training head."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

from kgtext.model.config import StackConfig
from tests.model.conftest import build, random_ids


def test_two_layer_model_overfits_one_batch_of_each_task() -> None:
    one = StackConfig(n_layer=1, d_model=32, n_head=4, d_inner=64)
    model = build(universal=one, nlu=one, nlg=one).train()
    ids = random_ids(4, 12)
    pad = torch.ones_like(ids, dtype=torch.bool)
    masked = torch.zeros_like(pad)
    masked[:, 2::4] = True  # positions 2, 6, 10 are masked for the MLM head
    mlm_input = ids.masked_fill(masked, 1)
    sr_labels, sd_labels = torch.tensor([0, 4, 8, 2]), torch.tensor([0, 1, 2, 1])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def losses() -> dict[str, torch.Tensor]:
        hidden = model.forward_nlu(mlm_input, None, pad)
        cls = hidden[:, 0]
        lm_hidden = model.forward_nlg(ids[:, :-1]).hidden
        return {
            "mlm": F.cross_entropy(model.mlm_logits(hidden[masked]), ids[masked]),
            "sr": F.cross_entropy(model.sr_logits(cls), sr_labels),
            "sd": F.cross_entropy(model.sd_logits(cls), sd_labels),
            "lm": F.cross_entropy(model.lm_logits(lm_hidden).flatten(0, 1), ids[:, 1:].flatten()),
        }

    first = {k: v.item() for k, v in losses().items()}
    for _ in range(200):
        loss = sum(losses().values())
        opt.zero_grad()
        loss.backward()  # type: ignore[union-attr]
        opt.step()
    model.eval()
    with torch.no_grad():
        last = {k: v.item() for k, v in losses().items()}
    for name in first:
        assert last[name] < 0.1 * first[name], (name, first[name], last[name])
