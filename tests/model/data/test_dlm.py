"""model.data.dlm: persistent DLM streams of whole documents (contiguous, resumable, length changes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kgtext.corpus.reader import CorpusReader
from kgtext.model.data.dlm import DlmStreams


@pytest.fixture()
def reader(corpus_dir: Path) -> CorpusReader:
    return CorpusReader(corpus_dir)


def _doc_tokens(reader: CorpusReader) -> dict[str, list[int]]:
    docs: dict[str, list[int]] = {}
    for table in reader.iter_tables("dlm", "train"):
        for row in table.to_pylist():
            docs.setdefault(row["doc_id"], []).extend(row["input_ids"])
    return docs


def test_dlm_streams_are_contiguous_whole_documents(reader: CorpusReader) -> None:
    streams = DlmStreams(reader, "train", streams=3, seed=5)
    segments = [streams.next_segments(16) for _ in range(40)]
    for s in range(3):
        inputs = np.concatenate([seg.inputs[s] for seg in segments])
        targets = np.concatenate([seg.targets[s] for seg in segments])
        assert np.array_equal(inputs[1:], targets[:-1])  # each segment continues the previous one
    docs = _doc_tokens(reader)
    first = np.concatenate([seg.inputs[0] for seg in segments])
    matches = [d for d, toks in docs.items() if np.array_equal(first[: min(len(toks), 640)], toks[:640])]
    assert len(matches) == 1  # stream 0 starts with one whole document


def test_dlm_streams_resume_and_change_length(reader: CorpusReader) -> None:
    streams = DlmStreams(reader, "train", streams=2, seed=5)
    for _ in range(7):
        streams.next_segments(24)
    state = json.loads(json.dumps(streams.state_dict()))
    expected = [streams.next_segments(n) for n in (24, 32, 40, 40)]
    other = DlmStreams(reader, "train", streams=2, seed=5)
    other.load_state_dict(state)
    for seg, n in zip(expected, (24, 32, 40, 40), strict=True):
        got = other.next_segments(n)
        assert got.inputs.shape == (2, n)
        assert np.array_equal(got.inputs, seg.inputs) and np.array_equal(got.targets, seg.targets)


def test_dlm_stream_count_must_match_on_resume(reader: CorpusReader) -> None:
    state = DlmStreams(reader, "train", streams=2, seed=5).state_dict()
    with pytest.raises(ValueError, match="2 DLM streams, config has 4"):
        DlmStreams(reader, "train", streams=4, seed=5).load_state_dict(state)
