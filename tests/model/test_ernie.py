"""Ernie3Model: head shapes, NLU/NLG visibility, memory behaviour, segment-vs-single-pass equivalence."""

from __future__ import annotations

import pytest
import torch

from kgtext.model.config import Recurrence
from kgtext.model.ernie import Ernie3Model, Memory
from tests.model.conftest import build, random_ids


@pytest.mark.parametrize("tied", [True, False])
def test_output_shapes_of_every_head(tied: bool) -> None:
    model = build(tie_token_heads=tied)
    ids = random_ids(3, 7)
    hidden = model.forward_nlu(ids, torch.zeros_like(ids), torch.ones_like(ids, dtype=torch.bool))
    assert hidden.shape == (3, 7, 16)
    assert model.mlm_logits(hidden).shape == (3, 7, 50)
    assert model.mlm_logits(hidden[:, :2].reshape(6, 16)).shape == (6, 50)
    assert model.sr_logits(hidden[:, 0]).shape == (3, 9)
    assert model.sd_logits(hidden[:, 0]).shape == (3, 3)
    out = model.forward_nlg(ids)
    assert out.hidden.shape == (3, 7, 16)
    assert model.lm_logits(out.hidden).shape == (3, 7, 50)


def test_tied_heads_share_the_embedding_matrix() -> None:
    tied, untied = build(tie_token_heads=True), build(tie_token_heads=False)
    names = {name for name, _ in tied.named_parameters()}
    assert "mlm_head.proj.weight" in names and "mlm_head.decoder.weight" not in names
    assert "lm_head.decoder.weight" in {name for name, _ in untied.named_parameters()}
    assert untied.num_parameters() - tied.num_parameters() == (16 * 50 + 50 - 16 * 32) * 2 - 50 * 2


def test_nlu_positions_see_the_whole_sequence() -> None:
    model = build()
    ids = random_ids(2, 10)
    pad = torch.ones_like(ids, dtype=torch.bool)
    changed = ids.clone()
    changed[:, 9] = (ids[:, 9] % 49) + 1
    with torch.no_grad():
        a, b = model.forward_nlu(ids, None, pad), model.forward_nlu(changed, None, pad)
    assert (a[:, 0] - b[:, 0]).abs().max() > 1e-4  # position 0 sees position 9


def test_nlu_ignores_padding_tokens() -> None:
    model = build()
    ids = random_ids(2, 10)
    pad = torch.ones_like(ids, dtype=torch.bool)
    pad[1, 6:] = False
    changed = ids.clone()
    changed[1, 6:] = 3
    with torch.no_grad():
        a, b = model.forward_nlu(ids, None, pad), model.forward_nlu(changed, None, pad)
    torch.testing.assert_close(a[1, :6], b[1, :6], rtol=0, atol=1e-6)


@pytest.mark.parametrize("recurrence", list(Recurrence))
@pytest.mark.parametrize("with_memory", [False, True])
def test_nlg_positions_never_see_the_future(recurrence: Recurrence, with_memory: bool) -> None:
    model = build(recurrence=recurrence)
    ids = random_ids(2, 12)
    with torch.no_grad():
        mems = model.forward_nlg(random_ids(2, 6, seed=5)).mems if with_memory else None
        assert (mems.length if mems else 0) == (6 if with_memory else 0)
        for t in (3, 11):
            changed = ids.clone()
            changed[:, t] = (ids[:, t] % 49) + 1
            a, b = model.forward_nlg(ids, mems), model.forward_nlg(changed, mems)
            assert torch.equal(a.hidden[:, :t], b.hidden[:, :t])  # bit-identical before t
            assert not torch.equal(a.hidden[:, t], b.hidden[:, t])


def test_memory_has_mem_len_positions_per_layer_and_is_detached() -> None:
    model = build(mem_len=8).train()  # gradients on: memory must still be detached
    out = model.forward_nlg(random_ids(2, 5))
    assert isinstance(out.mems, Memory)
    assert (len(out.mems.universal), len(out.mems.nlg)) == (2, 1)
    assert out.mems.length == 5
    out = model.forward_nlg(random_ids(2, 6, seed=2), out.mems)
    assert out.mems.length == 8
    for tensor in (*out.mems.universal, *out.mems.nlg):
        assert tensor.shape[:2] == (2, 8) and not tensor.requires_grad and tensor.grad_fn is None
    assert [t.size(2) for t in out.mems.universal + out.mems.nlg] == [32, 32, 16]
    assert model.init_mems(2).length == 0


def test_memory_changes_the_output() -> None:
    model = build()
    ids = random_ids(2, 6)
    with torch.no_grad():
        mems = model.forward_nlg(random_ids(2, 6, seed=9)).mems
        plain, with_mem = model.forward_nlg(ids).hidden, model.forward_nlg(ids, mems).hidden
    assert (plain - with_mem).abs().max() > 1e-3


def test_mem_len_zero_keeps_no_memory() -> None:
    model = build(mem_len=0)
    out = model.forward_nlg(random_ids(2, 6))
    assert out.mems.length == 0
    with torch.no_grad():
        again = model.forward_nlg(random_ids(2, 6), out.mems).hidden
        torch.testing.assert_close(again, model.forward_nlg(random_ids(2, 6)).hidden)


@pytest.mark.parametrize("clamp_len", [0, 5])
def test_lower_layer_segments_with_memory_equal_one_pass(clamp_len: int) -> None:
    """Classic TXL recurrence caches each layer's input: with memory covering the first segment, the second
    segment's keys are exactly those of a causal single pass, so the logits agree."""
    model = build(recurrence=Recurrence.LOWER_LAYER, mem_len=8, clamp_len=clamp_len)
    ids = random_ids(2, 14)
    with torch.no_grad():
        whole = model.lm_logits(model.forward_nlg(ids).hidden)
        first = model.forward_nlg(ids[:, :6])
        second = model.forward_nlg(ids[:, 6:], first.mems)
        pieces = torch.cat([model.lm_logits(first.hidden), model.lm_logits(second.hidden)], 1)
    torch.testing.assert_close(pieces, whole, rtol=1e-5, atol=1e-5)


def test_one_token_steps_with_memory_equal_one_pass() -> None:
    """Generation-style T = 1 segments (lower-layer recurrence, memory covering the past) equal a single pass."""
    model = build(recurrence=Recurrence.LOWER_LAYER, mem_len=16)
    ids = random_ids(2, 7)
    with torch.no_grad():
        whole = model.forward_nlg(ids).hidden
        mems, steps = None, []
        for t in range(7):
            out = model.forward_nlg(ids[:, t : t + 1], mems)
            mems = out.mems
            steps.append(out.hidden)
    assert mems is not None and mems.length == 7
    torch.testing.assert_close(torch.cat(steps, 1), whole, rtol=1e-5, atol=1e-5)


def test_same_layer_recurrence_differs_from_one_pass() -> None:
    """ERNIE-Doc recurrence feeds layer n's own output back to layer n: a different (deeper) context than a
    single pass, so only the first segment agrees."""
    model = build(recurrence=Recurrence.SAME_LAYER, mem_len=8)
    ids = random_ids(2, 14)
    with torch.no_grad():
        whole = model.forward_nlg(ids).hidden
        first = model.forward_nlg(ids[:, :6])
        second = model.forward_nlg(ids[:, 6:], first.mems)
    torch.testing.assert_close(first.hidden, whole[:, :6], rtol=1e-5, atol=1e-5)
    assert (second.hidden - whole[:, 6:]).abs().max() > 1e-3


def test_nlu_step_leaves_nlg_parameters_without_gradients() -> None:
    """What DDP sees in an NLU-only step (docs/MODEL.md: find_unused_parameters=True or run both paths)."""
    model = build().train()
    ids = random_ids(2, 6)
    hidden = model.forward_nlu(ids, None, torch.ones_like(ids, dtype=torch.bool))
    model.mlm_logits(hidden).sum().backward()
    unused = {name.split(".")[0] for name, p in model.named_parameters() if p.grad is None}
    assert unused == {"nlg", "lm_head", "cls_heads"}


def test_forward_rejects_bad_inputs() -> None:
    model = build()
    ids = random_ids(2, 6)
    with pytest.raises(AssertionError, match="pad_mask must be a bool tensor"):
        model.forward_nlu(ids, None, torch.ones_like(ids))
    with pytest.raises(AssertionError, match="cannot forward a segment of 40 tokens, tgt_len is 32"):
        model.forward_nlg(random_ids(1, 40))
    with pytest.raises(AssertionError, match="must be \\(B, T\\)"):
        model.forward_nlg(ids[0])
    with pytest.raises(AssertionError, match="memory batch 2 != input batch 3"):
        model.forward_nlg(random_ids(3, 4), model.forward_nlg(ids).mems)
    with pytest.raises(AssertionError, match="segment_ids must match"):
        model.forward_nlu(ids, ids[:, :3], torch.ones_like(ids, dtype=torch.bool))


def test_set_dropout_updates_modules_and_config() -> None:
    model = build()
    model.set_dropout(0.2, dropatt=0.05)
    assert model.config.dropout == 0.2 and model.config.dropatt == 0.05
    ps = {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}
    assert ps == {0.2}
    assert model.universal.layers[0].attn.dropatt == 0.05


def test_dropout_makes_training_mode_stochastic_and_eval_deterministic() -> None:
    model = build(dropout=0.3, dropatt=0.2)
    ids = random_ids(2, 6)
    pad = torch.ones_like(ids, dtype=torch.bool)
    with torch.no_grad():
        assert torch.equal(model.forward_nlu(ids, None, pad), model.forward_nlu(ids, None, pad))
        model.train()
        assert not torch.equal(model.forward_nlu(ids, None, pad), model.forward_nlu(ids, None, pad))


def test_bf16_autocast_forward_runs_on_cpu() -> None:
    model = build()
    ids = random_ids(2, 6)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model.forward_nlg(ids)
        logits = model.lm_logits(out.hidden)
    assert torch.isfinite(logits.float()).all()


def test_ernie3_10b_parameter_count_on_meta_device() -> None:
    from kgtext.model.presets import get_preset

    config = get_preset("ernie3-10b")
    with torch.device("meta"):
        model = Ernie3Model(config)
    counts = model.num_parameters(by_module=True)

    def stack(n: int, d: int, inner: int, heads: int) -> int:
        # q, kv, r, o (5 d^2) + u, v + FFN (with biases) + 2 LayerNorms, per layer
        return n * (5 * d * d + 2 * d + 2 * d * inner + inner + d + 4 * d)

    universal = stack(48, 4096, 16384, 64) + 2 * 4096
    task = stack(12, 768, 3072, 12) + 2 * 768 + (4096 * 768 + 768)
    assert counts["universal"] == universal == 10_471_153_664
    assert counts["nlu"] == counts["nlg"] == task
    assert counts["embed"] == (40000 + 4) * 4096
    assert counts["total"] == 10_833_097_356  # "10 billion" in the paper (§3.3.3); 0.8B of it is TXL's W_R
    assert next(model.parameters()).is_meta


@pytest.mark.parametrize("recurrence", list(Recurrence))
def test_padded_nlg_rows_give_the_outputs_and_memory_of_the_rows_alone(recurrence: Recurrence) -> None:
    """Right-padded rows (pad_mask): real outputs and the next memory equal those of each row run alone,
    over three segments, so a padded batch never leaks pad states into a row's memory."""
    model = build(seed=3, recurrence=recurrence)  # mem_len 8, tgt_len 32
    lengths = [[6, 6, 6], [4, 6, 2], [1, 3, 6]]  # real tokens of each row in each segment
    segments = [random_ids(3, 6, seed=10 + k) for k in range(3)]
    batch_mems = None
    alone_mems: list[Memory | None] = [None, None, None]
    masks = []
    with torch.no_grad():
        for k, ids in enumerate(segments):
            pad = torch.tensor([[j < lengths[row][k] for j in range(6)] for row in range(3)])
            out = model.forward_nlg(ids.masked_fill(~pad, 0), batch_mems, pad)
            batch_mems = out.mems
            masks.append(None if batch_mems.mask is None else batch_mems.mask.tolist())
            for row in range(3):
                n = lengths[row][k]
                alone = model.forward_nlg(ids[row : row + 1, :n], alone_mems[row])
                alone_mems[row] = alone.mems
                torch.testing.assert_close(out.hidden[row, :n], alone.hidden[0], rtol=1e-5, atol=1e-6)
                keep = alone.mems.length
                real = slice(batch_mems.length - keep, None)
                if batch_mems.mask is not None:
                    assert (
                        batch_mems.mask[row].tolist() == [False] * (batch_mems.length - keep) + [True] * keep
                    )
                for got, want in zip(
                    batch_mems.universal + batch_mems.nlg, alone.mems.universal + alone.mems.nlg, strict=True
                ):
                    torch.testing.assert_close(got[row, real], want[0], rtol=1e-5, atol=1e-6)
    # Real positions so far: 6/4/1, then 12/10/4, then 18/12/10 (all >= mem_len 8: no mask left).
    assert masks == [
        [[True] * 6, [False] * 2 + [True] * 4, [False] * 5 + [True]],
        [[True] * 8, [True] * 8, [False] * 4 + [True] * 4],
        None,
    ]


def test_full_rows_with_a_pad_mask_equal_the_unmasked_path() -> None:
    """No padding: passing an all-True pad_mask changes nothing (the trainer's streams take the old path)."""
    model = build(seed=4)
    ids = random_ids(2, 7, seed=5)
    with torch.no_grad():
        plain = model.forward_nlg(ids)
        masked = model.forward_nlg(ids, None, torch.ones_like(ids, dtype=torch.bool))
        torch.testing.assert_close(plain.hidden, masked.hidden)
        assert masked.mems.mask is None
        again = model.forward_nlg(ids, masked.mems)
        torch.testing.assert_close(again.hidden, model.forward_nlg(ids, plain.mems).hidden)


def test_a_shared_task_module_runs_both_paradigms_with_one_stack(tmp_path) -> None:  # noqa: ANN001
    """shared_task_module: the NLG path runs the NLU stack (causal, memory); one set of its weights."""
    from kgtext.model.checkpoint import load_model, save_model

    separate, shared = build(seed=5), build(seed=5, shared_task_module=True)
    assert shared.nlg is shared.nlu
    nlg_params = sum(p.numel() for p in separate.nlg.parameters())
    assert shared.num_parameters() == separate.num_parameters() - nlg_params - (
        sum(p.numel() for p in separate.lm_head.parameters())
        - sum(p.numel() for p in shared.lm_head.parameters())
    )
    ids = random_ids(2, 6, seed=6)
    with torch.no_grad():
        out = shared.forward_nlg(ids)
        assert out.hidden.shape == (2, 6, shared.config.nlu.d_model)
        assert len(out.mems.nlg) == shared.config.nlu.n_layer
        again = shared.forward_nlg(ids, out.mems)
        nlu = shared.forward_nlu(ids, None, torch.ones_like(ids, dtype=torch.bool))
    # The NLU path is bidirectional: its first position sees later tokens, the NLG path's does not.
    assert not torch.allclose(nlu[:, 0], out.hidden[:, 0])
    save_model(tmp_path / "m.pt", shared)
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.nlg is loaded.nlu
    with torch.no_grad():
        torch.testing.assert_close(loaded.forward_nlg(ids, out.mems).hidden, again.hidden)
