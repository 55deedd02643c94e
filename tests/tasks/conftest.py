"""Session fixtures: a small SentencePiece model trained on the fixture sentences, and the fixture records."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgtext.corpus.records import AlignedDocument, AlignedSentence
from kgtext.corpus.tasks.tokenizer import Tokenizer, TokenizerConfig, train_tokenizer
from tests.tasks.fixture_data import all_sentence_texts, rebel_sentences, redocred_documents

SMALL = TokenizerConfig(vocab_size=1000)
"""Small enough for ~150 sentences, and fast to train."""


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(train_tokenizer(all_sentence_texts(), str(tmp_path_factory.mktemp("spm") / "tasks"), SMALL))


@pytest.fixture(scope="session")
def tok(model_path: Path) -> Tokenizer:
    return Tokenizer.load(model_path)


@pytest.fixture(scope="session")
def redocred() -> tuple[list[AlignedDocument], dict[str, str]]:
    return redocred_documents()


@pytest.fixture(scope="session")
def rebel() -> list[AlignedSentence]:
    return rebel_sentences()
