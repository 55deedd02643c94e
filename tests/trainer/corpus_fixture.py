"""Builds a small real corpus directory for the trainer tests from 24 Re-DocRED dev documents.

The documents (tests/fixtures/trainer, MIT) become aligned documents (entities = Re-DocRED mention
clusters, triples = labelled facts whose head and tail share a sentence), a 600-piece SentencePiece model is
trained on their sentences, and the ``corpus.tasks`` builders write the five task datasets as Arrow shards
(train in two shards, valid in one; every 4th document is valid) with a manifest, as the pipeline would.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus.manifest import Manifest, ShardInfo, TokenizerInfo, write_manifest
from corpus.records import AlignedDocument, AlignedSentence, AlignedTriple, Mention
from corpus.sharding import shard_file_name, shard_of
from corpus.shards import encode_shard, write_local_atomic
from corpus.tasks.config import TasksConfig
from corpus.tasks.dlm import build_dlm
from corpus.tasks.kmlm import build_kmlm
from corpus.tasks.sd import build_sd
from corpus.tasks.sr import build_sr
from corpus.tasks.tokenizer import Tokenizer, TokenizerConfig, train_tokenizer
from corpus.tasks.uktp import build_uktp

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trainer"
WDT = "http://www.wikidata.org/prop/direct/"
_NO_SPACE_BEFORE = {",", ".", ";", ":", ")", "'s", "%"}
TRAIN_SHARDS = 2


def _detokenize(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    text, offsets = "", []
    for i, token in enumerate(tokens):
        if i and token not in _NO_SPACE_BEFORE and tokens[i - 1] != "(":
            text += " "
        offsets.append((len(text), len(text) + len(token)))
        text += token
    return text, offsets


def load_documents() -> tuple[list[AlignedDocument], dict[str, str]]:
    """The fixture documents as aligned documents, and IRI -> display label of entities and relations."""
    raw_docs = json.loads((FIXTURES / "redocred_dev_20_44.json").read_text(encoding="utf-8"))
    labels = {}
    for line in (FIXTURES / "wikidata_property_labels.tsv").read_text(encoding="utf-8").splitlines():
        iri, _, value = line.split("\t")
        labels[iri] = json.loads(value)
    docs = []
    for index, raw in enumerate(raw_docs):
        doc_id = f"redocred-dev-{20 + index}"
        iri = [f"urn:redocred:dev:{20 + index}:{e}" for e in range(len(raw["vertexSet"]))]
        for e, cluster in enumerate(raw["vertexSet"]):
            labels[iri[e]] = cluster[0]["name"]
        sentences = []
        for k, tokens in enumerate(raw["sents"]):
            text, offsets = _detokenize(tokens)
            mentions = sorted(
                Mention(offsets[m["pos"][0]][0], offsets[m["pos"][1] - 1][1], iri[e], "label")
                for e, cluster in enumerate(raw["vertexSet"])
                for m in cluster
                if m["sent_id"] == k
            )
            present = {m.entity for m in mentions}
            triples = tuple(
                AlignedTriple(iri[lab["h"]], WDT + lab["r"], iri[lab["t"]], False, "allent")
                for lab in raw["labels"]
                if iri[lab["h"]] in present and iri[lab["t"]] in present and WDT + lab["r"] in labels
            )
            # A sentence belongs to paragraph k // 4 (Re-DocRED keeps no paragraphs): SR gets 2-4 sentences.
            sentences.append(
                AlignedSentence(doc_id, k // 4, k, text, tuple(mentions), triples, (), len(tokens) >= 5)
            )
        docs.append(AlignedDocument(doc_id, raw["title"], "", tuple(sentences)))
    return docs, labels


def _task_rows(docs: list[AlignedDocument], labels: dict[str, str], tok: Tokenizer) -> dict[str, list[Any]]:
    config = TasksConfig(seed=0)
    rows: dict[str, list[Any]] = {t: [] for t in ("kmlm", "uktp", "sr", "sd", "dlm")}
    for i, doc in enumerate(docs):
        kept = [s for s in doc.sentences if s.passes_filter]
        for sentence in kept:
            rows["kmlm"] += build_kmlm(sentence, tok, config.kmlm)
            rows["uktp"] += build_uktp(sentence, labels, tok, config.uktp)
        rows["sr"] += build_sr(doc, tok, config.sr, seed=config.seed)
        other = docs[(i + 1) % len(docs)]
        negatives = [s.text for s in other.sentences[:4]]
        rows["sd"] += build_sd(
            doc, negatives, tok, config.sd, seed=config.seed, negative_doc_ids=[other.doc_id] * 4
        )
        rows["dlm"] += build_dlm(doc, tok, config.dlm)
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
