"""``kgtext pretrain`` arguments: --list-keys (type, default, help of every --set key) and one-line errors.

None of these trains or reads a corpus: the errors come before the corpus is opened.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kgtext.model.train.cli import describe_keys, main
from kgtext.model.train.config import valid_keys


def list_keys(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, dict[str, list[str]]]:
    """Run ``--list-keys``: its title line and key -> [type, default, help] (columns are 2+ spaces apart)."""
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 0
    title, header, *lines = capsys.readouterr().out.splitlines()
    assert re.split(r"\s{2,}", header) == ["key", "type", "default", "help"]
    rows = {cells[0]: cells[1:] for cells in (re.split(r"\s{2,}", line, maxsplit=3) for line in lines)}
    return title, rows


def test_list_keys_shows_type_dataclass_default_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    title, rows = list_keys(["--list-keys"], capsys)
    assert (
        title
        == "--set SECTION.KEY=VALUE keys (defaults: the dataclass defaults; add --preset NAME for a preset's)"
    )
    assert list(rows) == valid_keys()
    assert rows["optim.lr"] == ["float", "0.0001", "Peak learning rate, reached at the end of warm-up."]
    assert rows["runtime.precision"] == ["auto|fp32|bf16", "auto", "Autocast policy."]
    assert rows["log.tensorboard"] == [
        "bool",
        "true",
        "Write TensorBoard event files to RUN_DIR/tensorboard.",
    ]
    assert rows["model.tgt_len"] == ["int", "512", "Maximum segment length fed in one forward (tokens)."]
    assert rows["model.vocab_size"] == [
        "int",
        "from corpus",
        "Number of token ids (the corpus tokenizer's vocabulary).",
    ]


def test_list_keys_with_preset_shows_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    title, rows = list_keys(["--preset", "tiny", "--list-keys", "--corpus", "unused"], capsys)
    assert title == "--set SECTION.KEY=VALUE keys (defaults: preset tiny)"
    assert rows["optim.lr"][:2] == ["float", "0.001"]
    assert rows["optim.max_steps"][:2] == ["int", "300"]
    assert rows["model.tgt_len"][:2] == ["int", "64"]  # the tiny training preset's model override
    assert rows["model.dropout"][:2] == ["float", "0.1"]  # the tiny model preset's


@pytest.mark.parametrize("preset", [None, "tiny", "ernie3-10b"])
def test_every_key_has_a_help_line(preset: str | None) -> None:
    rows = describe_keys(preset)
    assert [row.key for row in rows] == valid_keys()
    assert [row.key for row in rows if not row.help.strip() or "\n" in row.help] == []
    assert [row.key for row in rows if not row.kind or not row.default] == []


def test_list_keys_with_a_mistyped_preset(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        main(["--list-keys", "--preset", "tinny"])
    assert err.value.code == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first == (
        "kgtext pretrain: invalid --preset 'tinny' (did you mean tiny?); choose from base-ablation, ernie3-10b, tiny"
    )


def test_unknown_option_suggests_the_right_one(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as err:
        main(["--corpus", str(tmp_path), "--preset", "tiny", "--out", str(tmp_path), "--max-step", "5"])
    assert err.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "kgtext pretrain: unknown option --max-step (did you mean --max-steps?)"
    assert lines[1].startswith("usage: kgtext pretrain [-h] --corpus CORPUS --preset")


def test_unknown_set_key_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["--corpus", str(tmp_path / "none"), "--preset", "tiny", "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as err:
        main([*argv, "--set", "optim.learning_rate=1e-3"])
    assert err.value.code == 1
    assert capsys.readouterr().err == (
        "kgtext pretrain: unknown --set key 'optim.learning_rate' (did you mean optim.lr?)\n"
    )
    with pytest.raises(SystemExit):
        main([*argv, "--set", "data.batch_size=many"])
    assert capsys.readouterr().err == "kgtext pretrain: --set data.batch_size: expected an int, got 'many'\n"
    assert not (tmp_path / "run").exists()
