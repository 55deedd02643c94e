"""A real tiny pre-training run on the fixture corpus, shared by the tests of model.use (read-only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.model.train.test_loop import run, small_config


@pytest.fixture(scope="session")
def tiny_run(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RUN_DIR of 6 steps of the real tiny model (checkpoints at steps 3 and 6, tokenizer copied)."""
    out = tmp_path_factory.mktemp("use") / "run"
    run(corpus_dir, out, small_config("model.tgt_len=128", steps=6))
    return out
