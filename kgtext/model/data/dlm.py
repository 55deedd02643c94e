"""Document language modelling as a fixed number of persistent document streams (Transformer-XL style).

Documents are taken from one deterministic global order (shards and documents permuted per epoch, seeded by
``(seed, "dlm", epoch[, shard])``); each of the ``S`` streams (one per batch row) pulls the next document
from that shared queue when it runs out of tokens, so a stream is a concatenation of whole documents in
order and its segments follow each other across steps: the NLG memory of row ``s`` at step ``t`` holds the
tokens just before row ``s`` of step ``t + 1``. Each segment is ``L + 1`` tokens (inputs and shifted
targets) and a stream advances by ``L``, where ``L`` is the current sequence length (progressive learning).

A document's tokens are the ``input_ids`` of its DLM rows in ``position`` order (rows of a document are
consecutive in a shard, sorted by ``(doc_id, position)``). The state is a few ints per stream.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pyarrow.compute as pc

from kgtext.corpus.reader import CorpusReader
from kgtext.model.data.source import ShardCache, stable_seed


class DocRef(NamedTuple):
    """One document: rows ``[start, end)`` of a shard."""

    shard: int
    start: int
    end: int


class DlmSegments(NamedTuple):
    """One global DLM micro-batch: ``inputs[s]`` is followed by ``targets[s]`` (shifted by one)."""

    inputs: np.ndarray
    """(S, L) int64 token ids."""
    targets: np.ndarray
    """(S, L) int64 next-token ids."""


class DlmStreams:
    """``streams`` persistent document streams over the DLM rows of one split."""

    def __init__(self, reader: CorpusReader, split: str, streams: int, seed: int) -> None:
        shards = reader.shards("dlm", split)
        if not shards or sum(s.rows for s in shards) == 0:
            raise ValueError(f"dlm/{split} has no rows")
        self.cache = ShardCache(reader, "dlm", shards)
        self.num_shards = len(shards)
        self.seed = seed
        self._bounds: dict[int, np.ndarray] = {}
        self.queue = [0, 0, 0]
        """The shared document queue: epoch, shard cursor, document cursor."""
        self.buffers: list[list[DocRef]] = [[] for _ in range(streams)]
        """Per stream: documents whose tokens are pending (the first one from ``offsets[s]``)."""
        self.offsets = [0] * streams
        self._tokens: dict[DocRef, np.ndarray] = {}

    def _doc_bounds(self, shard: int) -> np.ndarray:
        """Row index where each document of a shard starts, plus the row count at the end."""
        if shard not in self._bounds:
            table, _ = self.cache.get(shard)
            ids = table.column("doc_id")
            n = table.num_rows
            if n > 1:
                changed = pc.not_equal(ids.slice(1), ids.slice(0, n - 1)).to_numpy(zero_copy_only=False)
                starts = np.concatenate([[0], np.nonzero(changed)[0] + 1])
            else:
                starts = np.zeros(min(n, 1), dtype=np.int64)
            self._bounds[shard] = np.concatenate([starts, [n]]).astype(np.int64)
        return self._bounds[shard]

    def _next_doc(self) -> DocRef:
        epoch, shard_cursor, doc_cursor = self.queue
        while True:
            shard_order = np.random.default_rng(stable_seed(self.seed, "dlm", "shards", epoch))
            shard = int(shard_order.permutation(self.num_shards)[shard_cursor])
            bounds = self._doc_bounds(shard)
            n_docs = len(bounds) - 1
            if doc_cursor < n_docs:
                doc_rng = np.random.default_rng(stable_seed(self.seed, "dlm", "docs", epoch, shard))
                doc = int(doc_rng.permutation(n_docs)[doc_cursor])
                self.queue = [epoch, shard_cursor, doc_cursor + 1]
                return DocRef(shard, int(bounds[doc]), int(bounds[doc + 1]))
            shard_cursor, doc_cursor = shard_cursor + 1, 0
            if shard_cursor >= self.num_shards:
                epoch, shard_cursor = epoch + 1, 0

    def _doc_tokens(self, ref: DocRef) -> np.ndarray:
        if ref not in self._tokens:
            table, _ = self.cache.get(ref.shard)
            part = table.slice(ref.start, ref.end - ref.start).column("input_ids")
            values = [chunk.flatten().to_numpy(zero_copy_only=False) for chunk in part.chunks]
            self._tokens[ref] = np.concatenate(values).astype(np.int64) if values else np.zeros(0, np.int64)
        return self._tokens[ref]

    def _segment(self, stream: int, seq_len: int) -> np.ndarray:
        """The next ``seq_len + 1`` tokens of a stream; it advances by ``seq_len``."""
        need = seq_len + 1
        buffer = self.buffers[stream]
        while sum(len(self._doc_tokens(d)) for d in buffer) - self.offsets[stream] < need:
            buffer.append(self._next_doc())
        tokens = np.concatenate([self._doc_tokens(d) for d in buffer])[self.offsets[stream] :]
        out = tokens[:need]
        # Advance; drop documents that are fully consumed (the overlap token stays pending).
        offset = self.offsets[stream] + seq_len
        while buffer and offset >= len(self._doc_tokens(buffer[0])):
            offset -= len(self._doc_tokens(buffer[0]))
            buffer.pop(0)
        self.offsets[stream] = offset
        return out

    def next_segments(self, seq_len: int) -> DlmSegments:
        """One segment per stream at the current sequence length."""
        rows = np.stack([self._segment(s, seq_len) for s in range(len(self.buffers))])
        live = {d for b in self.buffers for d in b}
        self._tokens = {d: t for d, t in self._tokens.items() if d in live}
        return DlmSegments(rows[:, :-1], rows[:, 1:])

    def state_dict(self) -> dict[str, Any]:
        """Plain ints: the document queue and each stream's pending documents and offset."""
        return {
            "queue": list(self.queue),
            "buffers": [[list(d) for d in b] for b in self.buffers],
            "offsets": list(self.offsets),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["buffers"]) != len(self.buffers):
            raise ValueError(
                f"checkpoint has {len(state['buffers'])} DLM streams, config has {len(self.buffers)}"
            )
        self.queue = [int(x) for x in state["queue"]]
        self.buffers = [[DocRef(*map(int, d)) for d in b] for b in state["buffers"]]
        self.offsets = [int(x) for x in state["offsets"]]
        self._tokens = {}
