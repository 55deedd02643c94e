"""save_model / load_model round trip, resume equality with memory, fine-tuning loader, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kgtext.model.checkpoint import load_for_finetuning, load_model, model_payload, save_model
from kgtext.model.config import Recurrence
from kgtext.model.ernie import Ernie3Model
from kgtext.model.finetune import Ernie3ForNlg, Ernie3ForNlu
from tests.model.conftest import build, random_ids


def test_round_trip_restores_config_weights_and_outputs(tmp_path: Path) -> None:
    model = build(recurrence=Recurrence.LOWER_LAYER, tie_token_heads=False)
    path = tmp_path / "model.pt"
    save_model(path, model)
    assert sorted(torch.load(path, weights_only=True)) == ["config", "format", "format_version", "state_dict"]
    loaded = load_model(path).eval()
    assert isinstance(loaded, Ernie3Model) and loaded.config == model.config
    assert loaded.state_dict().keys() == model.state_dict().keys()
    assert all(
        torch.equal(a, b)
        for a, b in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True)
    )
    ids = random_ids(2, 9)
    pad = torch.ones_like(ids, dtype=torch.bool)
    with torch.no_grad():
        assert torch.equal(
            loaded.mlm_logits(loaded.forward_nlu(ids, None, pad)),
            model.mlm_logits(model.forward_nlu(ids, None, pad)),
        )


def test_resume_gives_identical_next_segments_with_memory(tmp_path: Path) -> None:
    """Train a few steps, save, reload: the next segments (carrying memory) match bit for bit."""
    model = build().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mems = None
    for step in range(3):
        out = model.forward_nlg(random_ids(2, 6, seed=step), mems)
        mems = out.mems
        model.lm_logits(out.hidden).logsumexp(-1).mean().backward()
        opt.step()
        opt.zero_grad()
    save_model(tmp_path / "m.pt", model)
    resumed = load_model(tmp_path / "m.pt")
    model.eval()
    resumed.eval()
    mems_a = mems_b = mems
    with torch.no_grad():
        for step in range(3, 6):
            ids = random_ids(2, 6, seed=step)
            a, b = model.forward_nlg(ids, mems_a), resumed.forward_nlg(ids, mems_b)
            assert torch.equal(model.lm_logits(a.hidden), resumed.lm_logits(b.hidden))
            mems_a, mems_b = a.mems, b.mems


def test_tied_head_still_shares_the_embedding_after_loading(tmp_path: Path) -> None:
    save_model(tmp_path / "m.pt", build(tie_token_heads=True))
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.lm_head._embedding[0].weight is loaded.embed.word.weight
    assert not any(t.is_meta for t in [*loaded.parameters(), *loaded.buffers()])


def test_load_for_finetuning_nlu_keeps_universal_and_nlu(tmp_path: Path) -> None:
    model = build()
    save_model(tmp_path / "m.pt", model)
    encoder = load_for_finetuning(tmp_path / "m.pt", "nlu")
    assert isinstance(encoder, Ernie3ForNlu) and encoder.training
    roots = {name.split(".")[0] for name, _ in encoder.named_parameters()}
    assert roots == {"embed", "universal", "nlu", "pooler"}
    ids = random_ids(2, 7)
    pad = torch.ones_like(ids, dtype=torch.bool)
    encoder.eval()
    with torch.no_grad():
        hidden = encoder(ids, None, pad)
        assert torch.equal(hidden, model.forward_nlu(ids, None, pad))
        assert encoder.pool(hidden).shape == (2, 16)


def test_load_for_finetuning_nlg_keeps_universal_nlg_and_lm_head(tmp_path: Path) -> None:
    model = build()
    save_model(tmp_path / "m.pt", model)
    decoder = load_for_finetuning(tmp_path / "m.pt", "nlg").eval()
    assert isinstance(decoder, Ernie3ForNlg)
    roots = {name.split(".")[0] for name, _ in decoder.named_parameters()}
    assert roots == {"embed", "universal", "nlg", "lm_head"}
    ids = random_ids(2, 7)
    with torch.no_grad():
        first = decoder(ids, decoder.init_mems(2))
        second = decoder(ids, first.mems)
        expected = model.forward_nlg(ids, model.forward_nlg(ids).mems)
        assert torch.equal(decoder.lm_logits(second.hidden), model.lm_logits(expected.hidden))


def test_load_for_finetuning_rejects_unknown_paradigm(tmp_path: Path) -> None:
    save_model(tmp_path / "m.pt", build())
    with pytest.raises(ValueError, match="paradigm must be one of \\['nlu', 'nlg'\\], got 'seq2seq'"):
        load_for_finetuning(tmp_path / "m.pt", "seq2seq")


def test_load_rejects_foreign_and_mismatched_files(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(ValueError, match="foreign.pt: not a kgtext ERNIE 3.0 model checkpoint"):
        load_model(foreign)
    payload = model_payload(build())
    future = tmp_path / "future.pt"
    torch.save(payload | {"format_version": 99}, future)
    with pytest.raises(ValueError, match="future.pt: checkpoint format_version 99"):
        load_model(future)
    mismatched = tmp_path / "mismatched.pt"
    torch.save(payload | {"config": payload["config"] | {"vocab_size": 60}}, mismatched)
    with pytest.raises(ValueError, match="mismatched.pt: state dict does not match the stored config"):
        load_model(mismatched)
    bad_config = tmp_path / "bad_config.pt"
    torch.save(payload | {"config": payload["config"] | {"dropout": 3.0}}, bad_config)
    with pytest.raises(ValueError, match="bad_config.pt: bad model config: dropout"):
        load_model(bad_config)
    no_state = tmp_path / "no_state.pt"
    torch.save({k: v for k, v in payload.items() if k != "state_dict"}, no_state)
    with pytest.raises(ValueError, match="no_state.pt: checkpoint lacks \\['state_dict'\\]"):
        load_model(no_state)
