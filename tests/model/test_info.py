"""``kgtext model-info``: the printed per-module breakdown and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kgtext.corpus.reader import CorpusReader
from kgtext.model.ernie import Ernie3Model
from kgtext.model.info import main
from kgtext.model.train.presets import train_preset
from kgtext.model.train.setup import model_config_for


def test_model_info_prints_breakdown_of_tiny(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--preset", "tiny"])
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == "preset tiny: vocab 1000, tgt_len 128, mem_len 64, recurrence same_layer, pre-LN, token heads untied"
    )
    assert out[1] == "vocab size 1000: the preset's (kgtext pretrain uses the corpus's: --corpus DIR)"
    assert out[2] == "universal: 2 layers x d_model 128, 4 heads, d_inner 512"
    assert "universal           429,056   32.7%  universal Transformer-XL stack (shared)" in out
    assert out[-1] == "total             1,312,732  100.0%  (1.31 M)"


def test_model_info_10b_total_and_vocab_override(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--preset", "ernie3-10b"])
    assert capsys.readouterr().out.splitlines()[-1] == "total        10,833,097,356  100.0%  (10.83 B)"
    main(["--preset", "tiny", "--vocab-size", "2000"])
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "vocab size 2000: from --vocab-size"
    # +1000 rows x 128 embedding, +1000 x (128 + 1) in each of the two untied token heads
    assert out[-1] == "total             1,698,732  100.0%  (1.70 M)"


@pytest.mark.parametrize("preset", ["tiny", "base-ablation"])
def test_model_info_corpus_counts_the_model_pretrain_builds(
    preset: str, corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--corpus sizes the vocabulary as ``kgtext pretrain --preset P --corpus DIR`` does (the same function
    pretrain sizes its model with, on the training preset's config)."""
    config = model_config_for(preset, train_preset(preset), CorpusReader(corpus_dir))
    with torch.device("meta"):
        expected = Ernie3Model(config).num_parameters(by_module=True)["total"]
    main(["--preset", preset, "--corpus", str(corpus_dir)])
    out = capsys.readouterr().out.splitlines()
    vocab = CorpusReader(corpus_dir).manifest.tokenizer
    assert vocab is not None and config.vocab_size == vocab.vocab_size == 600
    assert out[0].startswith(f"preset {preset}: vocab 600, ")
    assert out[1] == (
        f"vocab size 600: from the tokenizer in {corpus_dir / 'manifest.json'} ({vocab.path}), "
        f"as kgtext pretrain --corpus {corpus_dir} sizes it"
    )
    assert out[-1].split()[:2] == ["total", f"{expected:,}"]


def test_model_info_corpus_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        main(["--preset", "tiny", "--corpus", str(tmp_path / "nope")])
    assert err.value.code == 1
    assert capsys.readouterr().err.startswith(f"kgtext model-info: {tmp_path / 'nope'}: ")
    with pytest.raises(SystemExit) as err:
        main(["--preset", "tiny", "--corpus", str(tmp_path), "--vocab-size", "9"])
    assert err.value.code == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "kgtext model-info: argument --vocab-size: not allowed with argument --corpus"
    )


def test_model_info_rejects_unknown_preset(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        main(["--preset", "huge"])
    assert err.value.code == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "kgtext model-info: invalid --preset 'huge'; choose from base-ablation, ernie3-10b, tiny"
    )


def test_kgtext_dispatcher_reaches_model_info(capsys: pytest.CaptureFixture[str]) -> None:
    from kgtext.cli import main as kgtext_main

    kgtext_main(["model-info", "--preset", "base-ablation"])
    assert capsys.readouterr().out.splitlines()[-1] == "total           128,970,380  100.0%  (128.97 M)"
