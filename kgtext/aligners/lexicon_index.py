"""The whole KG's names -> a memory-mapped surface-form index; a document -> the KG entities it may mention.

Plain text has no links and no subject, so the candidate entities of a document come from its words: every
label, alias and name variant of every KG entity is a surface form, keyed by the aligner's own matching key
(:func:`kgtext.aligners.mentions.name_keys`: case, accents, quotes and dashes folded) and hashed to 64 bits. The
index is a set of shard files (``hash % shards``), each an Arrow IPC file sorted by hash with the entity
IRI, whether the form is a label or an alias, and the entity's KG degree (the prior). A worker opens the
files memory-mapped, so its memory does not grow with the KG: the pages are the operating system's.

:func:`candidate_keys` enumerates every span of a document that starts and ends on a word boundary and
spans at most ``max_words`` words; their hashes are looked up in one vectorised ``searchsorted`` per shard.
What comes back is only a candidate set, for recall: the aligner then matches those entities' names with
its own rules (capitals, leftmost-longest) and ranks entities sharing a name by KG coherence.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from kgtext.aligners.language import normalise_same_length
from kgtext.aligners.mentions import label_from_iri, name_keys
from kgtext.kg.records import Names

LABEL, ALIAS = 0, 1
INDEX_SCHEMA = pa.schema(
    [
        pa.field("hash", pa.uint64(), nullable=False),
        pa.field("iri", pa.string(), nullable=False),
        pa.field("source", pa.int8(), nullable=False),
        pa.field("prior", pa.int64(), nullable=False),
        pa.field("relation", pa.bool_(), nullable=False),
    ]
)
_WORD = re.compile(r"\w+")
_CHAR = re.compile(r"\w")
CHUNK_CHARS = 100_000
"""Documents are scanned in pieces of about this many characters (cut at whitespace): memory per document
stays bounded (a 5 MB text never holds all its spans at once)."""
MAX_FORMS_PER_ENTITY = 1_000
"""An entity with more names (label variants and aliases) keeps its label's and the first aliases' forms."""


class FormEntry(NamedTuple):
    """One surface form of one entity, as it is stored."""

    hash: int
    iri: str
    source: int
    """:data:`LABEL` or :data:`ALIAS`."""
    prior: int
    """The entity's degree in the KG (triples it takes part in)."""
    relation: bool = False
    """The IRI is a KG property: some triple uses it as its predicate (its mentions get the kind ``relation``)."""


class Candidate(NamedTuple):
    iri: str
    source: int
    prior: int
    relation: bool = False


def key_hash(key: str) -> int:
    """64-bit hash of a matching key (blake2b: the same on every machine and runner)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def form_entries(
    names: Names, prior: int, min_chars: int, max_words: int, stop_words: frozenset[str] = frozenset()
) -> list[FormEntry]:
    """Every matching key of an entity's label (variants count as aliases) and aliases (see
    :func:`forms_of`)."""
    return forms_of(names, prior, min_chars, max_words, stop_words)[0]


def forms_of(
    names: Names,
    prior: int,
    min_chars: int,
    max_words: int,
    stop_words: frozenset[str] = frozenset(),
    *,
    relation: bool = False,
) -> tuple[list[FormEntry], int]:
    """The entity's forms and how many were left out: beyond :data:`MAX_FORMS_PER_ENTITY`, longer than
    ``max_words`` words, or made only of stop words ("it", "the who") (see :func:`indexable`)."""
    best: dict[str, int] = {}
    for key, _, first in name_keys(names.label, min_chars, label_from_iri(names.label, names.iri)):
        best[key] = min(best.get(key, ALIAS), LABEL if first else ALIAS)
    extra = 0
    for alias in names.aliases:
        for key, _, _ in name_keys(alias, min_chars):
            if key in best:
                continue
            if len(best) >= MAX_FORMS_PER_ENTITY:
                extra += 1
            else:
                best[key] = ALIAS
    kept = [
        FormEntry(key_hash(key), names.iri, source, prior, relation)
        for key, source in sorted(best.items())
        if indexable(key, max_words, stop_words)
    ]
    return kept, extra + len(best) - len(kept)


def indexable(key: str, max_words: int, stop_words: frozenset[str] = frozenset()) -> bool:
    """A form worth looking up: at most ``max_words`` words (longer document spans are never looked up) and
    not only stop words."""
    words = key.split()
    return len(words) <= max_words and not all(w in stop_words for w in words)


def shard_of_hash(value: int, shards: int) -> int:
    return value % shards


def encode_index_shard(entries: Iterable[FormEntry], max_per_form: int) -> tuple[bytes, int]:
    """One shard file's bytes (sorted by hash, then prior descending, source, IRI) and how many entries the
    ``max_per_form`` cap left out (a form shared by more entities keeps the ``max_per_form`` best priors)."""
    ordered = sorted(set(entries), key=lambda e: (e.hash, -e.prior, e.source, e.iri))
    kept: list[FormEntry] = []
    dropped = 0
    run_hash, run = -1, 0
    for entry in ordered:
        run = run + 1 if entry.hash == run_hash else 1
        run_hash = entry.hash
        if run > max_per_form:
            dropped += 1
        else:
            kept.append(entry)
    table = pa.table(
        [
            pa.array([e.hash for e in kept], pa.uint64()),
            pa.array([e.iri for e in kept], pa.string()),
            pa.array([e.source for e in kept], pa.int8()),
            pa.array([e.prior for e in kept], pa.int64()),
            pa.array([e.relation for e in kept], pa.bool_()),
        ],
        schema=INDEX_SCHEMA,
    )
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, INDEX_SCHEMA) as writer:
        writer.write_table(table, max_chunksize=max(1, len(kept)))
    return sink.getvalue(), dropped


class IndexFormatError(ValueError):
    """A look-up file that is not what kgtext writes (another schema, nulls, not an Arrow file)."""


def open_mapped_shards(paths: Sequence[str], schema: pa.Schema) -> tuple[list[pa.Table], list[np.ndarray]]:
    """Each shard file memory-mapped, and its sorted ``hash`` column as a numpy view of the mapped pages
    (one chunk, as the shard encoders write it: no copy).

    A file whose schema is not ``schema`` (checked before any column is read), that holds a null, or that is
    not an Arrow file is an :class:`IndexFormatError` naming it; a missing one stays a FileNotFoundError."""
    tables: list[pa.Table] = []
    hashes: list[np.ndarray] = []
    for path in paths:
        try:
            reader = pa.ipc.open_file(pa.memory_map(path, "r"))
            if not reader.schema.equals(schema):
                raise IndexFormatError(f"{path}: not a kgtext KG index file (columns {reader.schema.names})")
            table = reader.read_all()
            nulls = [name for name in table.column_names if table.column(name).null_count]
            if nulls:
                raise IndexFormatError(f"{path}: not a kgtext KG index file (nulls in {nulls[0]})")
            hashes.append(table.column("hash").to_numpy())
        except (pa.ArrowException, OSError) as err:
            if isinstance(err, FileNotFoundError):
                raise
            raise IndexFormatError(f"{path}: not a readable Arrow file ({str(err)[:200]})") from None
        tables.append(table)
    return tables, hashes


class LexiconIndex:
    """The shard files, memory-mapped; :meth:`lookup` is vectorised per shard."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.shards = len(paths)
        self._tables, self._hashes = open_mapped_shards(paths, INDEX_SCHEMA)

    def lookup(self, hashes: Iterable[int]) -> list[Candidate]:
        """Every entity with one of these form hashes (each entity once, its best source and prior)."""
        found: dict[str, Candidate] = {}
        for candidates in self.lookup_forms(hashes).values():
            for candidate in candidates:
                _keep_best(found, candidate)
        return [found[iri] for iri in sorted(found)]

    def lookup_forms(self, hashes: Iterable[int]) -> dict[int, list[Candidate]]:
        """The entities of each form hash the index holds (a form's rows, as stored)."""
        wanted = np.unique(np.fromiter(hashes, dtype=np.uint64))
        found: dict[int, list[Candidate]] = {}
        if not len(wanted):
            return found
        shard_of = wanted % np.uint64(self.shards)
        for shard in range(self.shards):
            column = self._hashes[shard]
            values = wanted[shard_of == shard]
            if not len(column) or not len(values):
                continue
            lo = np.searchsorted(column, values, side="left")
            lengths = np.searchsorted(column, values, side="right") - lo
            hit = lengths > 0
            if not hit.any():
                continue
            lo, lengths = lo[hit], lengths[hit]
            # Row numbers of every match: each [lo, lo + length) range, concatenated.
            starts = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)
            rows = starts + np.arange(int(lengths.sum()))
            picked = self._tables[shard].take(pa.array(rows, pa.int64()))
            for form, iri, source, prior, relation in zip(
                picked.column("hash").to_pylist(),
                picked.column("iri").to_pylist(),
                picked.column("source").to_pylist(),
                picked.column("prior").to_pylist(),
                picked.column("relation").to_pylist(),
                strict=True,
            ):
                found.setdefault(form, []).append(Candidate(iri, source, prior, relation))
        return found


def _keep_best(found: dict[str, Candidate], candidate: Candidate) -> None:
    """One candidate per entity: a label match beats an alias match."""
    old = found.get(candidate.iri)
    if old is None or candidate.source < old.source:
        found[candidate.iri] = candidate


def chunks(text: str, size: int = CHUNK_CHARS) -> Iterator[str]:
    """``text`` in pieces of about ``size`` characters, cut at whitespace (a name is never cut in two,
    unless a piece has no whitespace at all)."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind(" ", start, end)
            end = cut + 1 if cut > start else end
        yield text[start:end]
        start = end


def candidate_keys(text: str, max_words: int, *, spaced: bool = True) -> Iterator[str]:
    """The matching key of every span of ``text`` that starts and ends on a word and has at most
    ``max_words`` words (the same normalisation as the aligner's names). For languages written without
    spaces (Chinese), every character is a unit and spans of up to ``max_words`` characters are tried."""
    norm = normalise_same_length(text)
    units = [(m.start(), m.end()) for m in (_WORD if spaced else _CHAR).finditer(norm)]
    for i, (start, _) in enumerate(units):
        for j in range(i, min(i + max_words, len(units))):
            yield " ".join(norm[start : units[j][1]].split())


class FoundCandidates(NamedTuple):
    """What plain-text linking found in one document."""

    candidates: list[Candidate]
    """Each entity once (its best source), sorted by IRI, at most ``limit``."""
    forms: tuple[tuple[tuple[str, int], ...], ...]
    """Each surface form that names more than one kept candidate: ``(IRI, source)`` of each, the source
    being how this form names it (:data:`LABEL` or :data:`ALIAS`), sorted: the choices
    :func:`kgtext.aligners.candidates.keep_per_form` ranks."""
    skipped: int
    """Candidates found past ``limit``."""
    sure: frozenset[str] = frozenset()
    """The kept candidates with a form of their own in the text (no other candidate shares it)."""


def find_candidates(
    text: str, index: LexiconIndex, max_words: int, *, spaced: bool = True, limit: int = 50_000
) -> FoundCandidates:
    """The KG entities (at most ``limit``, by IRI) one of whose forms occurs in ``text``, and which of them
    share a form; the text is scanned piece by piece (:func:`chunks`), so memory is bounded."""
    found: dict[str, Candidate] = {}
    forms: dict[int, dict[str, int]] = {}
    for piece in chunks(text):
        hashes = [key_hash(key) for key in set(candidate_keys(piece, max_words, spaced=spaced))]
        for form, candidates in index.lookup_forms(hashes).items():
            sources = forms.setdefault(form, {})
            for candidate in candidates:
                _keep_best(found, candidate)
                sources[candidate.iri] = min(candidate.source, sources.get(candidate.iri, ALIAS))
    ordered = [found[iri] for iri in sorted(found)]
    kept = {c.iri for c in ordered[:limit]}
    named = [{iri: source for iri, source in sources.items() if iri in kept} for sources in forms.values()]
    shared = {tuple(sorted(sources.items())) for sources in named if len(sources) > 1}
    sure = frozenset(iri for sources in named if len(sources) == 1 for iri in sources)
    return FoundCandidates(ordered[:limit], tuple(sorted(shared)), max(0, len(ordered) - limit), sure)


def document_candidates(
    text: str, index: LexiconIndex, max_words: int, *, spaced: bool = True, limit: int = 50_000
) -> tuple[list[Candidate], int]:
    """:func:`find_candidates`'s candidates and how many more were found."""
    found = find_candidates(text, index, max_words, spaced=spaced, limit=limit)
    return found.candidates, found.skipped
