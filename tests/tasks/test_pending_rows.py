"""Task and aligned rows encoded a batch of documents at a time (``encode_pending``) decode to exactly the rows
that encoding each document alone gives, and merge into the same shard bytes; the spill buffer packs them."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa

from kgtext.corpus.records import AlignedDocument
from kgtext.corpus.schemas import ALIGNED
from kgtext.corpus.shard_writer import (
    PENDING_BYTES_PER_ROW,
    PENDING_BYTES_PER_TOKEN,
    DocRows,
    PendingRows,
    encode_doc_rows,
    encode_pending,
    encode_run,
    iter_run,
    merge_doc_rows,
    pending_size,
    write_merged_runs,
)
from kgtext.corpus.shards import schema_of
from kgtext.corpus.tasks.compose import NO_NEGATIVES, compose_document
from kgtext.corpus.tasks.config import TasksConfig
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.pipelines.writers import PackShardRows, SpillRuns


def _pending(docs: list[AlignedDocument], labels: dict[str, str], tok: Tokenizer) -> list[PendingRows]:
    """Every document's rows of the five tasks and of ``aligned``, per dataset, in shard order."""
    out: list[PendingRows] = []
    for doc in docs:
        composed = compose_document(doc, labels, NO_NEGATIVES, tok, TasksConfig())
        by_task: dict[str, list[object]] = {}
        for task, row in composed.rows:
            by_task.setdefault(task.value, []).append(row)
        out += [PendingRows(task, doc.doc_id, rows) for task, rows in sorted(by_task.items())]
        sentences = [s for s in doc.sentences if s.passes_filter]
        out.append(PendingRows(ALIGNED, doc.doc_id, sentences))
    return out


def _rows(dataset: str, doc: DocRows) -> list[dict[str, object]]:
    return pa.ipc.read_record_batch(pa.py_buffer(doc.data), schema_of(dataset)).to_pylist()


def test_batched_encoding_decodes_to_each_documents_rows(
    redocred: tuple[list[AlignedDocument], dict[str, str]], tok: Tokenizer
) -> None:
    docs, labels = redocred
    pending = _pending(docs, labels, tok)
    pending.append(PendingRows("kmlm", "zz-empty", []))  # a document without rows keeps its place
    packed = encode_pending(pending)
    assert [(d.doc_id, d.rows) for d in packed] == [(p.doc_id, len(p.rows)) for p in pending]
    assert packed[-1] == DocRows("zz-empty", 0, b"")
    for one, doc in zip(pending[:-1], packed[:-1], strict=True):
        alone = encode_doc_rows(one.dataset, one.doc_id, one.rows)
        assert _rows(one.dataset, doc) == _rows(one.dataset, alone)
    assert {p.dataset for p in pending} == {ALIGNED, "kmlm", "uktp", "sr", "sd", "dlm"}


def test_batched_blobs_merge_to_the_same_shard_bytes(
    redocred: tuple[list[AlignedDocument], dict[str, str]], tok: Tokenizer
) -> None:
    docs, labels = redocred
    pending = [p for p in _pending(docs, labels, tok) if p.dataset == "uktp"]
    alone = [encode_doc_rows("uktp", p.doc_id, p.rows) for p in pending]
    packed = encode_pending(pending[5:]) + encode_pending(pending[:5])  # two packs, out of order
    reference = merge_doc_rows("uktp", alone)
    runs = [encode_run(packed[:4]), encode_run(packed[4:])]
    out = io.BytesIO()
    merged = write_merged_runs("uktp", [iter_run(io.BytesIO(r)) for r in runs], out)
    assert out.getvalue() == reference.data and merged.sha256 == reference.sha256
    assert merge_doc_rows("uktp", packed).data == reference.data


def test_pending_size_counts_rows_and_tokens(
    redocred: tuple[list[AlignedDocument], dict[str, str]], tok: Tokenizer
) -> None:
    docs, labels = redocred
    kmlm = next(p for p in _pending(docs, labels, tok) if p.dataset == "kmlm")
    tokens = sum(row.num_tokens for row in kmlm.rows)  # type: ignore[attr-defined]
    assert pending_size(kmlm) == PENDING_BYTES_PER_ROW * len(kmlm.rows) + PENDING_BYTES_PER_TOKEN * tokens
    sentence = docs[0].sentences[0]
    aligned = PendingRows(ALIGNED, docs[0].doc_id, [sentence])
    assert pending_size(aligned) == PENDING_BYTES_PER_ROW + PENDING_BYTES_PER_TOKEN * (
        len(sentence.text) // 4
    )


def test_spilling_packs_pending_rows_per_shard(
    tmp_path: Path, redocred: tuple[list[AlignedDocument], dict[str, str]], tok: Tokenizer
) -> None:
    """Pending rows wait loose per shard until ``pack_bytes`` of them are there, then become DocRows; what is
    loose at a spill is packed then. The run files hold every document once, sorted, with its rows."""
    docs, labels = redocred
    pending = [p for p in _pending(docs, labels, tok) if p.dataset in ("kmlm", "sd")]
    spill = SpillRuns(str(tmp_path / "runs"), encode_run, "run", pack=PackShardRows(), pack_bytes=20_000)
    spill.start_bundle()
    names: dict[tuple[object, ...], str] = {}
    packs = 0
    for p in pending:
        for key, name in spill.process(((p.dataset, "train", 0), (p, pending_size(p)))):
            names[key] = name
        loose = sum(len(values) for values, _ in spill._loose.values())
        packed = sum(len(values) for values in spill._buffer.values())
        packs += loose == 0
        assert loose + packed == pending.index(p) + 1  # nothing lost or doubled on the way
    assert packs > 2  # pack_bytes was reached several times before the end
    spill.finish_bundle()
    assert not spill._loose and not spill._buffer
    for dataset in ("kmlm", "sd"):
        with open(names[(dataset, "train", 0)], "rb") as handle:
            got = list(iter_run(handle))
        want = sorted((p for p in pending if p.dataset == dataset), key=lambda p: p.doc_id)
        assert [(d.doc_id, d.rows) for d in got] == [(p.doc_id, len(p.rows)) for p in want]
        for doc, p in zip(got, want, strict=True):
            assert _rows(dataset, doc) == _rows(dataset, encode_doc_rows(dataset, p.doc_id, p.rows))
