"""Document-LM rows: an aligned document -> its token run in consecutive chunks (``segment_index``).

Every sentence (filtered ones included) is encoded as word-initial text and the runs are concatenated in
document order, then ``[SEP]`` marks the end of the document. Chunks are at most ``chunk_tokens`` long and
end at a sentence end; a longer sentence is split at a word start (or, with no word start, hard). The
chunks are not the training length: the trainer cuts them into segments of its current length.
No randomness here.
"""

from __future__ import annotations

import logging

from kgtext.corpus.records import AlignedDocument
from kgtext.corpus.tasks.config import DlmConfig
from kgtext.corpus.tasks.rows import Built, DlmRow, Outcome, count
from kgtext.corpus.tasks.tokenizer import Tokenizer

logger = logging.getLogger(__name__)


def _split_long(ids: list[int], limit: int, word_start: tuple[bool, ...]) -> list[list[int]]:
    """Cut ``ids`` into pieces of at most ``limit`` tokens, each cut at the last word start that fits."""
    pieces: list[list[int]] = []
    while len(ids) > limit:
        cut = next((i for i in range(limit, 0, -1) if word_start[ids[i]]), limit)
        pieces.append(ids[:cut])
        ids = ids[cut:]
    return [*pieces, ids]


def chunk_run(runs: list[list[int]], limit: int, word_start: tuple[bool, ...]) -> list[list[int]]:
    """Pack sentence runs in order into chunks of at most ``limit`` tokens, cutting at run ends."""
    chunks: list[list[int]] = []
    current: list[int] = []
    for run in runs:
        if len(current) + len(run) > limit and current:
            chunks.append(current)
            current = []
        if len(run) > limit:
            *full, rest = _split_long(run, limit, word_start)
            chunks.extend(full)
            current = list(rest)
        else:
            current.extend(run)
    if current:
        chunks.append(current)
    return chunks


def build_dlm_counted(doc: AlignedDocument, tok: Tokenizer, config: DlmConfig) -> Built:
    """The document's :class:`DlmRow` chunks (``segment_index`` 0, 1, ...), with counts."""
    counts: dict[str, int] = {}
    texts = [s.text for s in doc.sentences if s.text.strip()]
    if not texts:
        count(counts, Outcome.EMPTY)
        return Built([], counts)
    runs = tok.encode_batch(texts)
    if config.end_of_document:
        runs.append([tok.sep_id])
    chunks = chunk_run(runs, config.chunk_tokens, tok.word_start)
    rows = [
        DlmRow(doc_id=doc.doc_id, position=i, input_ids=chunk, num_tokens=len(chunk), segment_index=i)
        for i, chunk in enumerate(chunks)
    ]
    count(counts, Outcome.ROW, len(rows))
    return Built(rows, counts)


def build_dlm(doc: AlignedDocument, tok: Tokenizer, config: DlmConfig) -> list[DlmRow]:
    """The rows of :func:`build_dlm_counted`."""
    rows: list[DlmRow] = build_dlm_counted(doc, tok, config).rows
    return rows
