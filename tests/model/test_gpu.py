"""CUDA checks (marked ``gpu``, skipped without a device): bf16 training step, causality, segment equivalence."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from kgtext.model.config import Recurrence
from tests.model.conftest import build, random_ids

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_bf16_training_step_on_cuda_gives_finite_gradients() -> None:
    model = build(dropout=0.1, dropatt=0.1).cuda().train()
    ids = random_ids(4, 16).cuda()
    pad = torch.ones_like(ids, dtype=torch.bool)
    pad[1, 10:] = False
    with torch.autocast("cuda", dtype=torch.bfloat16):
        hidden = model.forward_nlu(ids, None, pad)
        out = model.forward_nlg(ids, model.forward_nlg(ids).mems)
        loss = F.cross_entropy(model.mlm_logits(hidden).float().flatten(0, 1), ids.flatten())
        loss = loss + F.cross_entropy(model.lm_logits(out.hidden).float().flatten(0, 1), ids.flatten())
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_cuda_nlg_never_sees_the_future_with_memory() -> None:
    model = build().cuda()
    ids = random_ids(2, 12).cuda()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        mems = model.forward_nlg(random_ids(2, 6, seed=5).cuda()).mems
        changed = ids.clone()
        changed[:, 7] = (ids[:, 7] % 49) + 1
        a, b = model.forward_nlg(ids, mems), model.forward_nlg(changed, mems)
    assert torch.equal(a.hidden[:, :7], b.hidden[:, :7])


def test_cuda_segments_with_memory_equal_one_pass() -> None:
    model = build(recurrence=Recurrence.LOWER_LAYER, mem_len=8).cuda()
    ids = random_ids(2, 14).cuda()
    with torch.no_grad():
        whole = model.forward_nlg(ids).hidden
        first = model.forward_nlg(ids[:, :6])
        second = model.forward_nlg(ids[:, 6:], first.mems)
    torch.testing.assert_close(torch.cat([first.hidden, second.hidden], 1), whole, rtol=1e-4, atol=1e-4)
