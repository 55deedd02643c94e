"""``kgtext model-info``: the printed per-module breakdown and its errors."""

from __future__ import annotations

import pytest

from model.info import main


def test_model_info_prints_breakdown_of_tiny(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--preset", "tiny"])
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == "preset tiny: vocab 1000, tgt_len 128, mem_len 64, recurrence same_layer, pre-LN, token heads tied"
    )
    assert out[1] == "universal: 2 layers x d_model 128, 4 heads, d_inner 512"
    assert "universal           429,056   39.4%  universal Transformer-XL stack (shared)" in out
    assert out[-1] == "total             1,089,500  100.0%  (1.09 M)"


def test_model_info_10b_total_and_vocab_override(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--preset", "ernie3-10b"])
    assert capsys.readouterr().out.splitlines()[-1] == "total        10,833,097,356  100.0%  (10.83 B)"
    main(["--preset", "tiny", "--vocab-size", "2000"])
    # +1000 rows x 128 embedding, +1000 bias in each of the two tied token heads
    assert capsys.readouterr().out.splitlines()[-1] == "total             1,219,500  100.0%  (1.22 M)"


def test_model_info_rejects_unknown_preset(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--preset", "huge"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err


def test_kgtext_dispatcher_reaches_model_info(capsys: pytest.CaptureFixture[str]) -> None:
    from kgtext.cli import main as kgtext_main

    kgtext_main(["model-info", "--preset", "base-ablation"])
    assert capsys.readouterr().out.splitlines()[-1] == "total           128,970,380  100.0%  (128.97 M)"
