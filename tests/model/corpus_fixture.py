"""Builds a small real corpus directory for the trainer tests from 24 Re-DocRED dev documents.

The documents (tests/fixtures/trainer, MIT) become aligned documents (entities = Re-DocRED mention
clusters, triples = labelled facts whose head and tail share a sentence), a 600-piece SentencePiece model is
trained on their sentences, and the ``kgtext.corpus.tasks`` builders write the five task datasets as Arrow shards
(train in two shards, valid in one; every 4th document is valid) with a manifest, as the pipeline would.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kgtext.corpus.manifest import Manifest, ShardInfo, TokenizerInfo, write_manifest
from kgtext.corpus.records import AlignedDocument
from kgtext.corpus.sharding import shard_file_name, shard_of
from kgtext.corpus.shards import encode_shard, write_local_atomic
from kgtext.corpus.tasks.compose import Negatives, compose_document
from kgtext.corpus.tasks.config import TasksConfig
from kgtext.corpus.tasks.task import Task
from kgtext.corpus.tasks.tokenizer import Tokenizer, TokenizerConfig, train_tokenizer
from tests.redocred import NO_SPACE_BEFORE, redocred_document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trainer"
TRAIN_SHARDS = 2


def load_documents() -> tuple[list[AlignedDocument], dict[str, str]]:
    """The fixture documents as aligned documents, and IRI -> display label of entities and relations."""
    raw_docs = json.loads((FIXTURES / "redocred_dev_20_44.json").read_text(encoding="utf-8"))
    labels = {}
    for line in (FIXTURES / "wikidata_property_labels.tsv").read_text(encoding="utf-8").splitlines():
        iri, _, value = line.split("\t")
        labels[iri] = json.loads(value)
    # A sentence belongs to paragraph k // 4 (Re-DocRED keeps no paragraphs): SR gets 2-4 sentences.
    docs = [
        redocred_document(
            raw,
            20 + index,
            labels,
            sentences_per_paragraph=4,
            labelled_relations_only=True,
            no_space_before=NO_SPACE_BEFORE | {"%"},
        )
        for index, raw in enumerate(raw_docs)
    ]
    return docs, labels


def _task_rows(docs: list[AlignedDocument], labels: dict[str, str], tok: Tokenizer) -> dict[str, list[Any]]:
    """The pipeline's composition (:func:`compose_document`); each document's SD donor is the next one."""
    config = TasksConfig(seed=0)
    rows: dict[str, list[Any]] = {task.value: [] for task in Task}
    for i, doc in enumerate(docs):
        other = docs[(i + 1) % len(docs)]
        texts = tuple(s.text for s in other.sentences[:4])
        negatives = Negatives(texts, (other.doc_id,) * len(texts))
        for task, row in compose_document(doc, labels, negatives, tok, config).rows:
            rows[task.value].append(row)
    return rows


def build_corpus(
    out: Path, *, tasks: tuple[str, ...] = ("kmlm", "uktp", "sr", "sd", "dlm"), vocab_size: int = 600
) -> Path:
    """Write the fixture corpus into ``out`` (shards, tokenizer, manifest) and return ``out``."""
    docs, labels = load_documents()
    prefix = out / "tokenizer" / "spm"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    texts = [s.text for d in docs for s in d.sentences]
    model_path = Path(train_tokenizer(texts, str(prefix), TokenizerConfig(vocab_size=vocab_size)))
    for extra in prefix.parent.iterdir():
        if extra != model_path:
            extra.unlink()
    tok = Tokenizer.load(model_path)
    all_rows = _task_rows(docs, labels, tok)
    valid_ids = {d.doc_id for i, d in enumerate(docs) if i % 4 == 3}
    manifest = Manifest(
        tokenizer=TokenizerInfo(
            path="tokenizer/" + model_path.name,
            vocab_size=tok.vocab_size,
            special_ids={"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4},
            sha256=tok.sha256,
            first_normal_id=tok.first_normal_id,
        )
    )
    for task in tasks:
        for split in ("train", "valid"):
            count = TRAIN_SHARDS if split == "train" else 1
            parts: list[list[Any]] = [[] for _ in range(count)]
            for row in all_rows[task]:
                if (row.doc_id in valid_ids) == (split == "valid"):
                    parts[shard_of(row.doc_id, count)].append(row)
            infos = []
            for k, part in enumerate(parts):
                part.sort(key=lambda r: (r.doc_id, r.position))
                encoded = encode_shard(task, part)
                rel = f"{task}/{split}/{shard_file_name(k, count)}"
                write_local_atomic(out / rel, encoded.data)
                infos.append(
                    ShardInfo(
                        path=rel,
                        rows=encoded.rows,
                        bytes=len(encoded.data),
                        tokens=encoded.tokens,
                        sha256=encoded.sha256,
                    )
                )
            manifest.datasets.setdefault(task, {})[split] = infos
    write_manifest(out, manifest)
    return out


def copy_corpus(src: Path, dst: Path, edit: Callable[[Path], None] | None = None) -> Path:
    """A copy of a corpus directory, optionally edited (for bad-input tests)."""
    shutil.copytree(src, dst)
    if edit is not None:
        edit(dst)
    return dst
