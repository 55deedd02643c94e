"""Shared builders for the model tests: small seeded configs and models (CPU, float32, eval mode), and the
fixture corpus directory the data and trainer tests read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from kgtext.model.config import ModelConfig, Recurrence, StackConfig
from kgtext.model.ernie import Ernie3Model
from tests.model.corpus_fixture import build_corpus


def small_config(**changes: object) -> ModelConfig:
    """A 2-layer universal + 1-layer task model, no dropout (outputs are deterministic in eval mode)."""
    config = ModelConfig(
        universal=StackConfig(n_layer=2, d_model=32, n_head=4, d_inner=64),
        nlu=StackConfig(n_layer=1, d_model=16, n_head=2, d_inner=32),
        nlg=StackConfig(n_layer=1, d_model=16, n_head=2, d_inner=32),
        vocab_size=50,
        tgt_len=32,
        mem_len=8,
        dropout=0.0,
        dropatt=0.0,
        recurrence=Recurrence.SAME_LAYER,
    )
    return config.replace(**changes) if changes else config


def tree(folder: Path) -> list[str]:
    """Every file and folder under ``folder``, relative, sorted (exact file-list assertions)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def build(seed: int = 0, **changes: object) -> Ernie3Model:
    torch.manual_seed(seed)
    return Ernie3Model(small_config(**changes)).eval()


def random_ids(batch: int, length: int, seed: int = 1, vocab: int = 50) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(1, vocab, (batch, length), generator=gen)


@pytest.fixture
def model() -> Ernie3Model:
    return build()


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """The models here are tiny: one intra-op thread is faster than two, and far faster on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five-task corpus built from 24 Re-DocRED documents (read-only: copy it before editing)."""
    return build_corpus(tmp_path_factory.mktemp("trainer") / "corpus")
