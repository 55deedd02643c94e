"""Pure-stage floor of ``kgtext build-corpus``: KG files + document files -> seconds per stage, no Beam.

The build's Beam phases (:mod:`kgtext.pipelines.phases`) wire pure functions of ``kg/``, ``aligners/`` and
``corpus/``; :func:`pure_floor` calls the same functions, with the configurations ``kgtext build-corpus``
derives from its default options, in one plain Python loop in this process. What the Beam build adds on
top (shuffles, coders, run files, the hand-over of pickled parts between phases, file writes through
FileSystems, the manifest and verification) is what the floor leaves out, so ``bench_pipeline`` can report
the build's throughput as a share of it. Stage by stage (the keys of :data:`STAGES`):

- ``read_kg``: :func:`kgtext.kg.readers.read_kg_items` of every KG file (whole files: the floor does not cut big
  N-Triples files into byte ranges).
- ``resolve_names``: lexicon entries grouped by IRI -> :func:`kgtext.kg.lexicon.resolve_names`.
- ``index_kg``: the in-memory :class:`MemoryKg` (head -> distinct sorted triples, IRI -> smallest names),
  standing in for the memory-mapped shard files of phase 0 (:class:`kgtext.aligners.kg_index.KgIndex`).
- ``lexicon_index``: the surface-form index as :mod:`kgtext.pipelines.lexicon` builds it (KG degree per IRI,
  :func:`kgtext.aligners.lexicon_index.forms_of`, one :func:`~aligners.lexicon_index.encode_index_shard` file
  per shard under ``work_dir/lexicon``), opened as a :class:`~aligners.lexicon_index.LexiconIndex`.
- ``read_docs``: :func:`kgtext.aligners.documents.read_documents` + :func:`kgtext.aligners.dedup.resolve_duplicate_ids`.
- ``clean``: :func:`kgtext.aligners.clean.clean_document`.
- ``dedup``: :func:`kgtext.aligners.clean.dedup_key` groups -> :func:`kgtext.pipelines.documents.keep_smallest_id`.
- ``lookup``: plain-text candidates for documents without links
  (:func:`kgtext.aligners.lexicon_index.document_candidates`, as :class:`kgtext.pipelines.kg_index.GatherFn` does with
  the default ``--lexicon-linking unlinked``), then :func:`kgtext.aligners.candidates.gather` on :class:`MemoryKg`.
- ``align``: :class:`kgtext.aligners.align.Aligner` (built once, spaCy included) + :func:`kgtext.pipelines.align.used_labels`.
- ``sample``: :func:`kgtext.pipelines.writers.sample_candidates`, the smallest hashes (what the two-level
  :class:`~pipelines.writers.SampleSentences` keeps; kept in memory instead of a JSONL file).
- ``tokenizer``: :func:`kgtext.corpus.tasks.tokenizer.train_tokenizer` on the sample, then loading the model.
- ``negatives``: hash buckets as :class:`kgtext.pipelines.tasks.BuildTasks` forms them (bucket ``b`` draws from
  ``b + 1``, ``ceil(documents kept / --sd-docs-per-bucket)`` buckets) -> :func:`kgtext.pipelines.tasks.draw_negatives`
  on the aligned records themselves (the build unpickles them from its parts first).
- ``tasks``: :func:`kgtext.pipelines.tasks.build_document_tasks` (the five builders, in the build's order).
- ``encode``: the ``aligned/`` rows (:func:`kgtext.pipelines.writers.aligned_rows`) and the task rows
  (:func:`kgtext.pipelines.tasks.task_rows`) as per-document Arrow batches, converted as the build's spilling
  workers convert them: :data:`kgtext.pipelines.writers.PACK_BYTES` of pending rows of a shard at a time
  (:func:`kgtext.corpus.shard_writer.encode_pending`).
- ``merge``: each shard's batches merged in memory (:func:`kgtext.corpus.shard_writer.merge_doc_rows`, the same bytes
  the build's run-file merge writes; nothing is written here).

Run alone: ``python -m bench.pure_floor KG DOCS WORK_DIR`` (``bench_pipeline`` runs it on its 1x inputs). ``bench/run_all.py`` runs
every ``bench/bench_*.py``, so this module also has :func:`run`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from kgtext.aligners.align import Aligner
from kgtext.aligners.candidates import AlignInput, gather
from kgtext.aligners.clean import clean_document, dedup_key
from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.dedup import resolve_duplicate_ids
from kgtext.aligners.documents import read_documents
from kgtext.aligners.language import language_for, stop_words
from kgtext.aligners.lexicon_index import (
    FormEntry,
    LexiconIndex,
    document_candidates,
    encode_index_shard,
    forms_of,
    shard_of_hash,
)
from kgtext.aligners.records import CleanedDocument, Document
from kgtext.corpus.shard_writer import DocRows, PendingRows, encode_pending, merge_doc_rows, pending_size
from kgtext.corpus.sharding import bucket_of
from kgtext.corpus.tasks.config import TasksConfig
from kgtext.corpus.tasks.tokenizer import Tokenizer, TokenizerConfig, train_tokenizer
from kgtext.kg.config import KgConfig
from kgtext.kg.lexicon import resolve_names
from kgtext.kg.readers import read_kg_items
from kgtext.kg.records import LexiconEntry, Names, Triple
from kgtext.pipelines.align import used_labels
from kgtext.pipelines.config import BuildConfig
from kgtext.pipelines.documents import keep_smallest_id
from kgtext.pipelines.lexicon import (
    INDEX_SHARDS,
    MAX_ENTITIES_PER_FORM,
    MAX_UNSPACED_CHARS,
    MAX_WORDS,
    index_file,
)
from kgtext.pipelines.options import parse_args
from kgtext.pipelines.records import AlignedRecord, DocTasks, GroupKey, SdInput
from kgtext.pipelines.tasks import SD_SALT, build_document_tasks, draw_negatives, task_rows
from kgtext.pipelines.writers import PACK_BYTES, aligned_rows, sample_candidates

logger = logging.getLogger(__name__)

STAGES = (
    "read_kg",
    "resolve_names",
    "index_kg",
    "lexicon_index",
    "read_docs",
    "clean",
    "dedup",
    "lookup",
    "align",
    "sample",
    "tokenizer",
    "negatives",
    "tasks",
    "encode",
    "merge",
)
"""The per-stage keys of :func:`pure_floor`'s result, in the order the stages run."""


class StageClock:
    """Wall seconds per stage (``time.perf_counter``), summed when a stage runs more than once."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started


class MemoryKg:
    """The KG in two dicts (:class:`kgtext.aligners.candidates.KgLookup`): what phase 0's index files hold."""

    def __init__(self, triples: Iterable[Triple], names: Iterable[Names]) -> None:
        heads: dict[str, set[Triple]] = {}
        for triple in triples:
            heads.setdefault(triple.head, set()).add(triple)
        self._facts = {head: tuple(sorted(found)) for head, found in heads.items()}
        self._names: dict[str, Names] = {}
        for entry in names:  # several Names for one IRI: the smallest, as aligners.kg_index.names_value
            old = self._names.get(entry.iri)
            self._names[entry.iri] = entry if old is None else min(old, entry)

    def facts(self, iris: Iterable[str]) -> dict[str, tuple[Triple, ...]]:
        return {iri: self._facts[iri] for iri in iris if iri in self._facts}

    def names(self, iris: Iterable[str]) -> dict[str, Names]:
        return {iri: self._names[iri] for iri in iris if iri in self._names}


def read_kg(files: Sequence[str], config: KgConfig) -> tuple[list[Triple], list[LexiconEntry]]:
    """Every triple and lexicon entry of the KG files (dead letters and line counts are dropped)."""
    triples: list[Triple] = []
    entries: list[LexiconEntry] = []
    for path in files:
        for item in read_kg_items(path, config):
            if isinstance(item, Triple):
                triples.append(item)
            elif isinstance(item, LexiconEntry):
                entries.append(item)
    return triples, entries


def resolve_all_names(entries: Iterable[LexiconEntry], languages: Sequence[str]) -> list[Names]:
    """One :class:`Names` per IRI with lexicon entries (``ResolveNames``: group by IRI, then resolve)."""
    by_iri: dict[str, list[LexiconEntry]] = {}
    for entry in entries:
        by_iri.setdefault(entry.iri, []).append(entry)
    return [resolve_names(iri, by_iri[iri], tuple(languages)) for iri in sorted(by_iri)]


def build_lexicon_index(
    triples: Iterable[Triple], names: Iterable[Names], folder: Path, min_chars: int, language: str
) -> LexiconIndex:
    """The surface-form index files of :class:`kgtext.pipelines.lexicon.BuildLexiconIndex`, written and opened."""
    degree: dict[str, int] = {}
    for triple in triples:
        degree[triple.head] = degree.get(triple.head, 0) + 1
        if not triple.tail_is_literal:
            degree[triple.tail] = degree.get(triple.tail, 0) + 1
    best: dict[str, Names] = {}
    for entry in names:
        best[entry.iri] = min(best.get(entry.iri, entry), entry)
    stops = stop_words(language)
    shards: list[list[FormEntry]] = [[] for _ in range(INDEX_SHARDS)]
    for iri in sorted(best):
        entries, _ = forms_of(best[iri], degree.get(iri, 0), min_chars, MAX_WORDS, stops)
        for form in entries:
            shards[shard_of_hash(form.hash, INDEX_SHARDS)].append(form)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for shard, forms in enumerate(shards):
        data, _ = encode_index_shard(forms, MAX_ENTITIES_PER_FORM)
        path = Path(index_file(str(folder), shard, INDEX_SHARDS))
        path.write_bytes(data)
        paths.append(str(path))
    return LexiconIndex(paths)


def read_docs(files: Sequence[str], max_line_bytes: int) -> list[Document]:
    """Every document of the files, one per id (``ResolveDuplicateIds``), sorted by id."""
    by_id: dict[str, list[Document]] = {}
    for path in files:
        for item in read_documents(path, max_line_bytes=max_line_bytes):
            if isinstance(item, Document):
                by_id.setdefault(item.id, []).append(item)
    rank = {path: i for i, path in enumerate(files)}
    return [resolve_duplicate_ids(by_id[doc_id], rank).kept for doc_id in sorted(by_id)]


def clean_all(docs: Iterable[Document], config: AlignerConfig) -> list[CleanedDocument]:
    """The documents that survive cleaning (drop reasons are only counted by the build)."""
    return [c for c in (clean_document(doc, config) for doc in docs) if isinstance(c, CleanedDocument)]


def deduplicate(docs: Iterable[CleanedDocument], config: AlignerConfig) -> list[CleanedDocument]:
    """One document per de-duplication key, the smallest id (``CleanAndDeduplicate``), sorted by id."""
    language = language_for(config.language)
    groups: dict[str, list[CleanedDocument]] = {}
    for doc in docs:
        key = dedup_key(doc, language=language, n_sentences=config.dedup_sentences)
        groups.setdefault(key, []).append(doc)
    return sorted((keep_smallest_id(group)[0] for group in groups.items()), key=lambda d: d.id)


def plain_text_candidates(doc: CleanedDocument, forms: LexiconIndex, config: AlignerConfig) -> list[str]:
    """Candidate IRIs of a document without links (``GatherFn._candidates`` with ``unlinked`` linking)."""
    if doc.links:
        return []
    spaced = language_for(config.language).spaced
    found, _ = document_candidates(
        doc.text(),
        forms,
        MAX_WORDS if spaced else MAX_UNSPACED_CHARS,
        spaced=spaced,
        limit=config.max_candidates,
    )
    return [candidate.iri for candidate in found]


def align_all(inputs: Iterable[AlignInput], config: AlignerConfig) -> list[AlignedRecord]:
    """``AlignDocuments``: one aligned record per input, with the labels UKTP needs."""
    aligner = Aligner(config)
    records = []
    for item in inputs:
        aligned = aligner.align(item.doc, item.entities, item.triples, item.relations)
        records.append(AlignedRecord(aligned, used_labels(item, aligned.sentences)))
    return records


def tokenizer_sample(records: Iterable[AlignedRecord], n: int) -> list[str]:
    """The ``n`` sentences with the smallest hashes, in hash order (``SampleSentences`` + ``write_sample``)."""
    candidates = sorted(item for record in records for _, item in sample_candidates(record))
    return [text for _, text in candidates[:n]]


def train_sample_tokenizer(sentences: Sequence[str], folder: Path, config: TokenizerConfig) -> Tokenizer:
    """SentencePiece trained on the sample (``train_corpus_tokenizer``), loaded as phase 2 loads it."""
    if not sentences:
        raise ValueError(
            "no sentence survived reading, cleaning and alignment: nothing to train a tokenizer on"
        )
    folder.mkdir(parents=True, exist_ok=True)
    model = train_tokenizer(sentences, str(folder / "spm"), config)
    return Tokenizer.from_bytes(Path(model).read_bytes())


def sd_inputs(
    records: Sequence[AlignedRecord], documents_kept: int, docs_per_bucket: int, seed: int
) -> list[SdInput]:
    """Sentence-distance negatives drawn as ``BuildTasks`` draws them (bucket ``b`` from ``b + 1``)."""
    num_buckets = max(1, math.ceil(documents_kept / docs_per_bucket))
    docs: dict[int, list[AlignedRecord]] = {}
    donors: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
    for record in records:
        doc_id = record.doc.doc_id
        bucket = bucket_of(doc_id, num_buckets, SD_SALT)
        texts = tuple(s.text for s in record.doc.sentences if s.text.strip())  # as pipelines.tasks.part_entry
        docs.setdefault(bucket, []).append(record)
        donors.setdefault((bucket - 1) % num_buckets, []).append((doc_id, texts))
    return [
        item
        for bucket in sorted(docs)
        for item in draw_negatives((bucket, {"docs": docs[bucket], "donors": donors.get(bucket, [])}), seed)
    ]


def encode_rows(
    records: Iterable[AlignedRecord], built: Iterable[DocTasks], num_shards: int, valid_fraction: float
) -> list[tuple[GroupKey, DocRows]]:
    """The ``aligned/`` rows and the five tasks' rows, one Arrow batch per document and dataset."""
    pending = [row for record in records for row in aligned_rows(record, num_shards, valid_fraction)]
    pending += [row for doc in built for row in task_rows(doc, num_shards, valid_fraction)]
    rows: list[tuple[GroupKey, DocRows]] = []
    loose: dict[GroupKey, tuple[list[PendingRows], int]] = {}

    def pack(key: GroupKey) -> None:
        rows.extend((key, doc) for doc in encode_pending(loose.pop(key)[0]))

    for key, doc in pending:
        docs, size = loose.get(key, ([], 0))
        docs.append(doc)
        loose[key] = (docs, size + pending_size(doc))
        if loose[key][1] >= PACK_BYTES:
            pack(key)
    for key in list(loose):
        pack(key)
    return rows


def merge_shards(rows: Iterable[tuple[GroupKey, DocRows]]) -> int:
    """Every non-empty shard's batches merged into its bytes (in memory); returns the bytes in all."""
    shards: dict[GroupKey, list[DocRows]] = {}
    for key, doc in rows:
        if doc.rows:
            shards.setdefault(key, []).append(doc)
    return sum(len(merge_doc_rows(key[0], batches).data) for key, batches in sorted(shards.items()))


def default_configs(
    kg_files: list[str], doc_files: list[str], work_dir: Path
) -> tuple[BuildConfig, KgConfig, AlignerConfig, TasksConfig, TokenizerConfig]:
    """The configurations ``kgtext build-corpus`` derives from its default options for these inputs."""
    args = parse_args(["--kg", *kg_files, "--docs", *doc_files, "--out", str(work_dir / "unused")])
    config = args.config
    return config, config.kg, config.aligner, config.tasks, config.tokenizer.train


def pure_floor(kg_files: list[str], doc_files: list[str], work_dir: Path) -> dict[str, float]:
    """Run read KG -> resolve names -> read docs -> clean -> de-duplicate -> look up -> align -> tokenizer
    sample + training -> the five task builders -> Arrow encoding of the rows, in one process.

    Returns ``{"sentences": aligned sentences (the build's ``aligned.sentences``), "seconds": wall seconds
    of the whole loop}`` plus the wall seconds of every stage under its :data:`STAGES` key. ``work_dir``
    receives the surface-form index files and the SentencePiece model.
    """
    config, kg_config, aligner_config, tasks_config, tok_config = default_configs(
        kg_files, doc_files, work_dir
    )
    clock = StageClock()
    started = time.perf_counter()
    with clock.stage("read_kg"):
        triples, entries = read_kg(kg_files, kg_config)
    with clock.stage("resolve_names"):
        names = resolve_all_names(entries, kg_config.languages)
    with clock.stage("index_kg"):
        kg = MemoryKg(triples, names)
    with clock.stage("lexicon_index"):
        forms = build_lexicon_index(
            triples, names, work_dir / "lexicon", aligner_config.min_name_chars, aligner_config.language
        )
    with clock.stage("read_docs"):
        docs = read_docs(doc_files, kg_config.max_line_bytes)
    with clock.stage("clean"):
        cleaned = clean_all(docs, aligner_config)
    with clock.stage("dedup"):
        kept = deduplicate(cleaned, aligner_config)
    with clock.stage("lookup"):
        inputs = [gather(doc, plain_text_candidates(doc, forms, aligner_config), kg) for doc in kept]
    with clock.stage("align"):
        records = align_all(inputs, aligner_config)
    with clock.stage("sample"):
        sample = tokenizer_sample(records, config.tokenizer.sample_sentences)
    with clock.stage("tokenizer"):
        tok = train_sample_tokenizer(sample, work_dir / "tokenizer", tok_config)
    with clock.stage("negatives"):
        items = sd_inputs(records, len(kept), config.sd_docs_per_bucket, tasks_config.seed)
    with clock.stage("tasks"):
        built = [build_document_tasks(item, tok, tasks_config) for item in items]
    with clock.stage("encode"):
        rows = encode_rows(records, built, config.num_shards, config.valid_fraction)
    with clock.stage("merge"):
        merged = merge_shards(rows)
    seconds = time.perf_counter() - started
    sentences = sum(len(record.doc.sentences) for record in records)
    logger.info(
        "floor: %d triples, %d names, %d documents read, %d kept, %d aligned sentences, %d task rows, "
        "%d shard bytes in %.1f s",
        len(triples),
        len(names),
        len(docs),
        len(kept),
        sentences,
        sum(len(doc.rows) for doc in built),
        merged,
        seconds,
    )
    return {"sentences": float(sentences), "seconds": seconds, **clock.seconds}


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    kg, docs = sys.argv[1].split(","), sys.argv[2].split(",")
    print(json.dumps(pure_floor(kg, docs, Path(sys.argv[3]))))
