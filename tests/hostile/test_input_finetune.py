"""Fine-tuning files under hostile input (issue 25, cases 3, 4 and 6): valid records with U+2028 read; a
lone surrogate, nesting 200,000 deep, a 200 MB line or a FIFO is one line naming the file (and line),
exit 1 from ``kgtext finetune``, read in bounded memory."""

from __future__ import annotations

import json
import os
import signal
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from kgtext.model.use.finetune import main as finetune_main
from kgtext.model.use.finetune_data import FinetuneDataError, FinetuneTask, read_examples

GOOD = {"text": "Rome is in Italy", "head": [0, 4], "tail": [11, 16], "label": "P17"}


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    def fail(*_: object) -> None:
        raise TimeoutError("the reader blocked")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _file(tmp_path: Path, *lines: str | bytes, name: str = "train.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode("utf-8")) + b"\n" for x in lines))
    return path


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\u0085"])
def test_a_line_separator_inside_a_record_is_text(tmp_path: Path, sep: str) -> None:
    record = GOOD | {"text": f"Rome is in Italy{sep}(it is)"}
    path = _file(tmp_path, json.dumps(GOOD), json.dumps(record, ensure_ascii=False))
    first, second = read_examples(path, FinetuneTask.RELATION)
    assert second.text == f"Rome is in Italy{sep}(it is)" and second.label == "P17"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (json.dumps(GOOD | {"text": "Rome\ud800 is in Italy"}), "field 'text' holds a lone surrogate"),
        (json.dumps(GOOD | {"label": "P\udc17"}), "field 'label' holds a lone surrogate"),
        ("[" * 200_000 + "]" * 200_000, r"not usable JSON \(nested too deeply\)"),
        (b'{"text": "caf\xe9"}', r"not UTF-8 \(invalid continuation byte at byte 14\)"),
    ],
)
def test_a_bad_record_is_one_line_naming_file_and_line(
    tmp_path: Path, line: str | bytes, message: str
) -> None:
    path = _file(tmp_path, json.dumps(GOOD), line)
    with pytest.raises(FinetuneDataError, match=rf"^{path}:2: {message}") as info:
        read_examples(path, FinetuneTask.RELATION)
    assert "\n" not in str(info.value)


def test_a_tokens_span_label_with_a_surrogate_names_the_span(tmp_path: Path) -> None:
    record = {"text": "Rome Italy", "spans": [{"start": 0, "end": 4, "label": "L\ud800"}]}
    path = _file(tmp_path, json.dumps(record), name="tokens.jsonl")
    with pytest.raises(
        FinetuneDataError, match=rf"^{path}:1: spans\[0\]: field 'label' holds a lone surrogate"
    ):
        read_examples(path, FinetuneTask.TOKENS)


def test_a_huge_line_is_refused_without_being_held(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    with open(path, "wb") as handle:
        handle.write((json.dumps(GOOD) + "\n").encode())
        handle.write(huge := b'{"text": "' + b"x" * (40 << 20) + b'", "label": "P1"}\n')
    tracemalloc.start()
    try:
        message = rf"^{path}:2: a line of {len(huge):,} bytes, more than the limit of 16,777,216$"
        with pytest.raises(FinetuneDataError, match=message):
            read_examples(path, FinetuneTask.RELATION)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 << 20  # the 16 MiB limit read once, not the line (200 MB: 5.8 GB peak RSS before)


def test_a_fifo_or_a_device_is_refused_in_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "train.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(FinetuneDataError, match=rf"^{fifo}: is a FIFO \(named pipe\), not a regular file"):
        read_examples(fifo, FinetuneTask.RELATION)
    zero = tmp_path / "zero.jsonl"
    zero.symlink_to("/dev/zero")
    with pytest.raises(FinetuneDataError, match=rf"^{zero}: is a character device"):
        read_examples(zero, FinetuneTask.RELATION)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            json.dumps(GOOD | {"text": "\ud800 Rome is in Italy"}),
            "train.jsonl:2: field 'text' holds a lone surrogate",
        ),
        ("[" * 200_000 + "]" * 200_000, r"train.jsonl:2: not usable JSON \(nested too deeply\)"),
    ],
)
def test_finetune_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    train = _file(tmp_path, json.dumps(GOOD), line)
    good = _file(tmp_path, json.dumps(GOOD), name="valid.jsonl")
    out = tmp_path / "out"
    argv = ["--checkpoint", "none", "--task", "relation", "--train", str(train), "--valid", str(good),
            "--test", str(good), "--out", str(out)]  # fmt: skip
    with pytest.raises(SystemExit) as info:
        finetune_main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert err.startswith("kgtext finetune: ") and err.count("\n") == 1 and "Traceback" not in err
    assert f"{tmp_path}/" in err and message.replace("\\", "") in err.replace("\\", "")
    assert not out.exists()
