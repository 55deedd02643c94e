"""kgtext evaluate: the trainer's eval numbers, the whole split with baselines and verdicts, document
perplexity with/without memory, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kgtext.corpus.reader import CorpusReader
from kgtext.model.train.baselines import TASK_FIGURES, Verdict
from kgtext.model.train.log import read_metrics
from kgtext.model.use.evaluate import (
    _nll,
    document_perplexity,
    evaluate,
    main,
    parse_batches,
    split_documents,
)
from kgtext.model.use.load import load
from tests.model.train.test_loop import run, small_config


@pytest.fixture(scope="module")
def evaluated_run(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaluate") / "run"
    run(corpus_dir, out, small_config("eval.interval=3", "eval.batches=2", steps=6))
    return out


def test_per_task_figures_equal_the_trainers_eval_at_that_step(evaluated_run: Path, corpus_dir: Path) -> None:
    result = evaluate(evaluated_run, corpus_dir, "valid", "run")
    [logged] = [r for r in read_metrics(evaluated_run) if r.get("kind") == "eval" and r["step"] == 6]
    trainer = {k.replace("eval/", ""): v for k, v in logged.items() if k.startswith("eval/")}
    assert set(trainer) <= set(result) and len(trainer) >= 10
    for key, value in trainer.items():
        assert math.isclose(result[key], value, rel_tol=1e-6), key


def test_document_perplexity_does_not_depend_on_batch_mates(evaluated_run: Path, corpus_dir: Path) -> None:
    model = load(evaluated_run).model
    docs = split_documents(CorpusReader(corpus_dir), "valid")
    assert len(docs) >= 5 and max(map(len, docs)) > model.config.tgt_len  # several segments per document
    together = document_perplexity(model, docs, batch=8)
    alone = document_perplexity(model, docs, batch=1)
    assert together.targets == alone.targets == sum(len(d) - 1 for d in docs)
    assert math.isclose(together.with_memory, alone.with_memory, rel_tol=1e-5)
    assert math.isclose(together.without_memory, alone.without_memory, rel_tol=1e-5)
    assert together.with_memory != together.without_memory  # memory changes the prediction past segment 1


def test_memory_makes_no_difference_inside_one_segment(evaluated_run: Path, corpus_dir: Path) -> None:
    model = load(evaluated_run).model
    short = [d[: model.config.tgt_len] for d in split_documents(CorpusReader(corpus_dir), "valid")]
    with_memory, n = _nll(model, short, memory=True)
    without, m = _nll(model, short, memory=False)
    assert n == m and math.isclose(with_memory, without, rel_tol=1e-6)


def test_cli_table_json_and_errors(
    evaluated_run: Path, corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--checkpoint", str(evaluated_run), "--corpus", str(corpus_dir), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["documents"] >= 5 and result["kmlm/accuracy"] >= 0
    tasks = ["kmlm", "uktp", "sr", "sd", "dlm"]
    for task in tasks:
        for name in TASK_FIGURES:
            assert f"{task}/{name}" in result, (task, name)
        assert f"grad_norm/{task}" in result and f"grad_norm/{task}/embed" in result
    assert result["sr/chance"] == result["sr/baseline_accuracy"] and "dlm/unigram_perplexity" in result
    assert result["health/nlu_pr"] > 0
    # The fixture's valid split has far fewer than 200 rows per task: no verdict either way.
    assert result["verdicts"] == dict.fromkeys(tasks, Verdict.TOO_FEW.value)
    # By default the whole split: every sd row, each once.
    assert result["sd/rows"] == sum(s.rows for s in CorpusReader(corpus_dir).shards("sd", "valid"))
    main(["--checkpoint", str(evaluated_run), "--corpus", str(corpus_dir), "--batches", "1"])
    table = capsys.readouterr().out
    assert "document perplexity over" in table and table.splitlines()[0].startswith("task")
    assert (
        "verdict" in table.splitlines()[0]
        and "too few to tell (< 200 rows): kmlm, uktp, sr, sd, dlm" in table
    )
    [sd_line] = [line for line in table.splitlines() if line.startswith("sd ")]
    assert sd_line.split()[-4:] == ["too", "few", "to", "tell"]
    main(
        ["--checkpoint", str(evaluated_run), "--corpus", str(corpus_dir), "--batches", "1", "--no-documents"]
    )
    table = capsys.readouterr().out
    assert "document perplexity" not in table and "dlm stream perplexity" in table
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(evaluated_run), "--corpus", str(tmp_path)])
    assert "kgtext evaluate:" in capsys.readouterr().err


def test_batches_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert [parse_batches(text) for text in ("all", "run", "3")] == ["all", "run", 3]
    for bad in ("0", "-2", "some"):
        with pytest.raises(SystemExit):
            main(["--checkpoint", "x", "--corpus", "y", "--batches", bad])
        assert "--batches: must be all, run or a number >= 1" in capsys.readouterr().err
