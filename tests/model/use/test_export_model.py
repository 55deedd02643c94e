"""kgtext export-model: safetensors + config.json + tokenizer, loadable without the run, bit for bit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import sentencepiece as spm
import torch

from kgtext.corpus.tasks.tokenizer import vocab_text
from kgtext.model.checkpoint import load_export, load_model, save_export, split_shared
from kgtext.model.ernie import Ernie3Model
from kgtext.model.use.evaluate import main as evaluate_main
from kgtext.model.use.export import export_model, main
from kgtext.model.use.finetune import main as finetune_main
from kgtext.model.use.generate import main as generate_main
from kgtext.model.use.load import load
from tests.model.conftest import build, random_ids, tree

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FEWREL = {split: FIXTURES / "finetune" / f"fewrel_{split}.jsonl" for split in ("train", "valid", "test")}
EXPORT_FILES = [
    "config.json",
    "model.safetensors",
    "tokenizer",
    "tokenizer/spm.model",
    "tokenizer/spm.vocab",
]


def outputs(model: Ernie3Model, seed: int = 1) -> list[torch.Tensor]:
    """NLU hidden states, MLM logits, NLG hidden states, LM logits and the NLG memory on a fixed input."""
    ids = random_ids(2, 12, seed=seed, vocab=model.config.vocab_size)
    with torch.no_grad():
        nlu = model.forward_nlu(ids, torch.zeros_like(ids), torch.ones_like(ids, dtype=torch.bool))
        nlg = model.forward_nlg(ids)
        return [nlu, model.mlm_logits(nlu), nlg.hidden, model.lm_logits(nlg.hidden), *nlg.mems.universal]


def test_export_loads_without_the_run_bit_for_bit(
    tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    original = load(run).model
    expected = outputs(original)
    out = tmp_path / "export"
    main([str(run), "--out", str(out)])
    printed = capsys.readouterr().out.splitlines()
    step_6 = run / "checkpoints" / "step-00000006" / "model.pt"
    assert printed[0] == f"exported {step_6.resolve()} (step 6) to {out}:"
    assert [line.split("  (")[0].strip() for line in printed[1:5]] == [
        str(out / name) for name in EXPORT_FILES if name != "tokenizer"
    ]
    assert printed[5] == f"use it with: kgtext generate --checkpoint {out} --prompt TEXT"
    assert tree(out) == EXPORT_FILES
    assert (out / "tokenizer" / "spm.model").read_bytes() == (run / "tokenizer" / "spm.model").read_bytes()
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["format"] == "kgtext-ernie3-export" and config["format_version"] == 1
    assert config["step"] == 6 and config["preset"] == "tiny" and config["model"] == original.config.to_dict()
    shutil.rmtree(run)  # the export stands alone
    for path in (out, out / "config.json", out / "model.safetensors"):
        model = load_model(path).eval()
        assert all(torch.equal(a, b) for a, b in zip(outputs(model), expected, strict=True)), path
    loaded = load(out)
    assert loaded.model_file == out / "model.safetensors" and not loaded.model.training
    assert all(torch.equal(a, b) for a, b in zip(outputs(loaded.model), expected, strict=True))
    state = original.state_dict()
    assert all(torch.equal(t, state[k]) for k, t in loaded.model.state_dict().items())
    again = export_model(out, tmp_path / "again")  # an export of an export is the same export
    assert [p.read_bytes() for p in again] == [(out / n).read_bytes() for n in EXPORT_FILES if "." in n]


def test_the_vocab_file_is_the_one_sentencepiece_training_writes(tmp_path: Path) -> None:
    lines = (FIXTURES / "finetune" / "fewrel_train.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "text.txt").write_text(
        "\n".join(json.loads(line)["text"] for line in lines), encoding="utf-8"
    )
    prefix = tmp_path / "sp"
    spm.SentencePieceTrainer.train(
        input=str(tmp_path / "text.txt"), model_prefix=str(prefix), vocab_size=300, minloglevel=2
    )
    written = (tmp_path / "sp.vocab").read_text(encoding="utf-8")
    assert vocab_text((tmp_path / "sp.model").read_bytes()) == written
    assert written.splitlines()[:3] == ["<unk>\t0", "<s>\t0", "</s>\t0"]


def test_shared_tensors_are_stored_once_and_tied_again_on_load(tmp_path: Path) -> None:
    model = build(shared_task_module=True)
    assert model.nlg is model.nlu
    save_export(tmp_path, model, {})
    stored = safetensors.torch.load_file(tmp_path / "model.safetensors")
    aliases = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))["aliases"]
    nlg = sorted(k for k in model.state_dict() if k.startswith("nlg."))
    assert nlg and sorted(aliases) == nlg and not any(k.startswith("nlg.") for k in stored)
    assert all(target == "nlu." + alias.removeprefix("nlg.") for alias, target in aliases.items())
    loaded = load_export(tmp_path).eval()
    assert loaded.nlg is loaded.nlu
    assert all(torch.equal(a, b) for a, b in zip(outputs(loaded), outputs(model), strict=True))


def test_split_shared_keeps_the_first_name_and_copies_overlapping_views() -> None:
    base = torch.arange(6.0)
    stored, aliases = split_shared({"a": base, "b": base, "c": base[2:], "d": torch.ones(2).expand(3, 2)})
    assert list(stored) == ["a", "c", "d"] and aliases == {"b": "a"}
    assert (
        stored["a"] is base and stored["c"].untyped_storage().data_ptr() != base.untyped_storage().data_ptr()
    )
    assert torch.equal(stored["c"], base[2:]) and stored["d"].is_contiguous()


def test_the_out_folder_is_never_overwritten_blindly(tiny_run: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not empty and not a kgtext export"):
        export_model(tiny_run, notes, overwrite=True)
    assert tree(notes) == ["todo.txt"]
    out = tmp_path / "export"
    out.mkdir()  # an empty folder is fine
    assert export_model(tiny_run, out) == [out / n for n in EXPORT_FILES if n != "tokenizer"]
    with pytest.raises(FileExistsError, match="pass --overwrite"):
        export_model(tiny_run, out)
    first = (out / "model.safetensors").stat().st_mtime_ns
    export_model(tiny_run / "checkpoints" / "step-00000003", out, overwrite=True)
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["step"] == 3
    assert (out / "model.safetensors").stat().st_mtime_ns != first and tree(out) == EXPORT_FILES
    (out / "tokenizer" / "extra.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(
        FileExistsError, match="'tokenizer/extra.txt', which kgtext export-model did not write"
    ):
        export_model(tiny_run, out, overwrite=True)
    assert tree(tmp_path) == sorted(["notes", "notes/todo.txt", "export", *(f"export/{n}" for n in EXPORT_FILES),
                                     "export/tokenizer/extra.txt"])  # fmt: skip


def test_help_is_plain_text_and_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_help:
        main(["--help"])
    text = capsys.readouterr().out
    assert (
        exit_help.value.code == 0
        and "usage: kgtext export-model [-h] --out DIR [--overwrite] RUN_DIR" in text
    )
    assert "``" not in text and ":func:" not in text
    with pytest.raises(SystemExit) as exit_missing:
        main([str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    assert exit_missing.value.code == 1
    assert capsys.readouterr().err == f"kgtext export-model: {tmp_path / 'missing'}: no such file or folder\n"
    assert not (tmp_path / "out").exists()


def test_generate_evaluate_and_finetune_accept_the_export(
    tiny_run: Path, corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The three commands give the run's results from the export alone (its config.json carries the run's
    training config, so evaluate uses the run's data settings)."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    export_model(run, tmp_path / "export")

    def results(checkpoint: Path, name: str) -> list[Any]:
        generate_main(["--checkpoint", str(checkpoint), "--prompt", "The river", "--max-new-tokens", "6"])
        text = capsys.readouterr().out
        evaluate_main(["--checkpoint", str(checkpoint), "--corpus", str(corpus_dir), "--json"])
        report = capsys.readouterr().out
        out = tmp_path / name
        finetune_main(
            ["--checkpoint", str(checkpoint), "--task", "relation", "--out", str(out), "--epochs", "1",
             "--threads", "1", *sum((["--" + s, str(FEWREL[s])] for s in FEWREL), [])]
        )  # fmt: skip
        assert capsys.readouterr().out.startswith("test: accuracy")
        metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        return [text, json.loads(report), metrics["test"], metrics["history"][0]["train_loss"]]

    from_run = results(run, "ft-run")
    shutil.rmtree(run)
    from_export = results(tmp_path / "export", "ft-export")
    assert from_export == from_run
    assert from_export[1]["documents"] >= 5 and from_export[1]["kmlm/accuracy"] >= 0
