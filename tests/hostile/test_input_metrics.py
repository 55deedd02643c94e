"""A torn ``metrics.jsonl`` (issue 25, case 11): a partial last line, as a full disk leaves after an append,
no longer blocks ``kgtext plot`` or ``pretrain --resume``: it is skipped with a WARNING naming the file, and
a resumed run rewrites the file without it. A bad line elsewhere is one line naming ``file:line``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from kgtext.model.train.cli import main as pretrain_main
from kgtext.model.train.log import METRICS_NAME, MetricsWriter, read_metrics
from kgtext.model.train.plot import main as plot_main
from tests.model.corpus_fixture import build_corpus
from tests.model.train.test_loop import SMALL

RECORDS = [{"step": s, "loss": 5.0 - s, "loss/kmlm": 5.0 - s, "lr": 1e-3} for s in (1, 2, 3)]


def _run_dir(tmp_path: Path, tail: bytes) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    lines = b"".join(json.dumps(r).encode() + b"\n" for r in RECORDS)
    (run / METRICS_NAME).write_bytes(lines + tail)
    return run


@pytest.mark.parametrize(
    "tail", [b'{"step": 4, "loss": 1.2', b'{"step": 4, "text": "caf\xc3', b"\x00\x00\x00"]
)
def test_a_torn_last_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, tail: bytes
) -> None:
    run = _run_dir(tmp_path, tail)
    with caplog.at_level(logging.WARNING):
        assert read_metrics(run) == RECORDS
    assert f"{run / METRICS_NAME}:4: skipped a torn last line" in caplog.text


def test_a_resumed_run_rewrites_the_file_without_the_torn_line(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, b'{"step": 4, "lo')
    writer = MetricsWriter(run, enabled=True, tensorboard=False)
    writer.truncate_after(2)
    writer.write({"step": 3, "loss": 0.5})
    assert read_metrics(run) == [*RECORDS[:2], {"step": 3, "loss": 0.5}]
    assert (run / METRICS_NAME).read_bytes().endswith(b"\n")


@pytest.mark.parametrize(
    ("middle", "message"),
    [
        (b'{"step": 2, "lo\n', r"metrics\.jsonl:2: not valid JSON"),
        (b'["not", "a", "record"]\n', r"metrics\.jsonl:2: not a metrics record"),
        (b'{"loss": 1.0}\n', r"metrics\.jsonl:2: not a metrics record"),
    ],
)
def test_a_bad_line_elsewhere_is_one_line_naming_file_and_line(
    tmp_path: Path, middle: bytes, message: str
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / METRICS_NAME).write_bytes(b'{"step": 1}\n' + middle + b'{"step": 3}\n')
    with pytest.raises(ValueError, match=rf"^{run}/{message}"):
        read_metrics(run)


def test_plot_skips_a_torn_line_and_names_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run_dir(tmp_path, b'{"step": 4, "lo')
    plot_main([str(run)])
    assert capsys.readouterr().out.startswith(f"wrote {run / 'loss.png'}")
    (run / METRICS_NAME).write_bytes(b'{"step": 1, "loss": 1.0}\n{"step": 2\n{"step": 3, "loss": 1.0}\n')
    with pytest.raises(SystemExit) as info:
        plot_main([str(run)])
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert err.startswith(f"kgtext plot: {run / METRICS_NAME}:2: not valid JSON") and err.count("\n") == 1


def test_pretrain_resumes_after_a_torn_append(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = build_corpus(tmp_path / "corpus")
    out = tmp_path / "run"
    args = [
        "--corpus",
        str(corpus),
        "--preset",
        "tiny",
        "--out",
        str(out),
        *sum((["--set", s] for s in SMALL), []),
    ]
    pretrain_main([*args, "--max-steps", "3"])
    with open(out / METRICS_NAME, "ab") as handle:  # what a full disk leaves of the next append
        handle.write(b'{"step": 4, "loss": 3.1, "loss/km')
    with caplog.at_level(logging.WARNING):
        pretrain_main([*args, "--resume", "--max-steps", "4"])
    assert f"{out / METRICS_NAME}:4: skipped a torn last line" in caplog.text
    assert [r["step"] for r in read_metrics(out)] == [1, 2, 3, 4]
