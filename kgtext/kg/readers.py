"""KG files of any supported format -> a stream of Triple, LexiconEntry and DeadLetter records.

Formats go by extension (after an optional ``.gz``/``.bz2``): N-Triples/N-Quads and TSV stream line by line
(:mod:`kgtext.kg.ntriples`), the other RDF syntaxes go through rdflib (:mod:`kgtext.kg.rdf_files`). TSV comes in two
layouts: triples (``head <TAB> relation <TAB> tail``; bare ids such as ``Q42``/``P31`` are expanded with
the configured prefixes, ``<iri>`` and ``"literal"@en`` terms are N-Triples syntax) and, when the file
name ends in ``entity``/``entities``/``relation``/``relations``/``labels``/``aliases`` (Wikidata5M's
``wikidata5m_entity.txt``), names (``id <TAB> label <TAB> alias ...``).
"""

from __future__ import annotations

import bz2
import enum
import gzip
import re
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeAlias

from kgtext.common.dead_letters import DeadLetter, Reason, make_dead_letter
from kgtext.common.lines import LongLine, bounded_lines, skip_to_line_start
from kgtext.kg.config import KgConfig, canonical_property_iri
from kgtext.kg.ntriples import STAGE, parse_ntriples_line
from kgtext.kg.rdf_files import RdfSyntax, line_count, parse_rdf_bytes, sniff_owl_syntax
from kgtext.kg.records import LexiconEntry, LinesRead, NameKind, Triple

KgRecord: TypeAlias = Triple | LexiconEntry | DeadLetter
KgItem: TypeAlias = Triple | LexiconEntry | DeadLetter | LinesRead
Opener: TypeAlias = Callable[[str], BinaryIO]
"""Opens a path for reading raw (still compressed) bytes; ``FileSystems.open`` in pipelines."""


class KgFormat(str, enum.Enum):
    """File formats :func:`read_kg_file` understands."""

    NTRIPLES = "ntriples"
    NQUADS = "nquads"
    TURTLE = "turtle"
    N3 = "n3"
    TRIG = "trig"
    RDFXML = "rdfxml"
    OWL = "owl"
    JSONLD = "jsonld"
    TSV_TRIPLES = "tsv_triples"
    TSV_NAMES = "tsv_names"


class Compression(str, enum.Enum):
    NONE = "none"
    GZIP = "gzip"
    BZIP2 = "bzip2"


LINE_FORMATS = frozenset({KgFormat.NTRIPLES, KgFormat.NQUADS, KgFormat.TSV_TRIPLES, KgFormat.TSV_NAMES})
_EXTENSIONS = {
    ".nt": KgFormat.NTRIPLES, ".nq": KgFormat.NQUADS, ".ttl": KgFormat.TURTLE, ".n3": KgFormat.N3,
    ".trig": KgFormat.TRIG, ".rdf": KgFormat.RDFXML, ".xml": KgFormat.RDFXML, ".owl": KgFormat.OWL,
    ".jsonld": KgFormat.JSONLD, ".tsv": KgFormat.TSV_TRIPLES, ".txt": KgFormat.TSV_TRIPLES,
}  # fmt: skip
_RDFLIB_SYNTAX = {
    KgFormat.TURTLE: RdfSyntax.TURTLE, KgFormat.N3: RdfSyntax.N3, KgFormat.TRIG: RdfSyntax.TRIG,
    KgFormat.RDFXML: RdfSyntax.RDFXML, KgFormat.JSONLD: RdfSyntax.JSONLD,
}  # fmt: skip
_NAMES_STEM = re.compile(r"(entity|entities|relation|relations|labels|aliases)$", re.IGNORECASE)
_BARE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def _split_name(path: str) -> tuple[str, str, Compression]:
    """(stem, extension, compression) of the last path component, lowercased extension."""
    name = re.split(r"[/\\]", path)[-1]
    compression = Compression.NONE
    for suffix, kind in ((".gz", Compression.GZIP), (".bz2", Compression.BZIP2)):
        if name.lower().endswith(suffix):
            name, compression = name[: -len(suffix)], kind
    stem, dot, ext = name.rpartition(".")
    return (stem, dot + ext.lower(), compression) if dot else (name, "", compression)


def compression_of(path: str) -> Compression:
    return _split_name(path)[2]


def kg_format_of(path: str) -> KgFormat:
    """The format of ``path`` by extension; ValueError naming the file for an unknown one."""
    stem, ext, _ = _split_name(path)
    fmt = _EXTENSIONS.get(ext)
    if fmt is None:
        known = " ".join(sorted(_EXTENSIONS))
        raise ValueError(
            f"{path}: unknown KG file extension {ext or '(none)'!r}; known: {known} (+ .gz/.bz2)"
        )
    if fmt is KgFormat.TSV_TRIPLES and _NAMES_STEM.search(stem):
        return KgFormat.TSV_NAMES
    return fmt


def open_raw(path: str) -> BinaryIO:
    """The default opener: the local file system."""
    return open(path, "rb")


def read_kg_file(path: str, config: KgConfig, *, opener: Opener = open_raw) -> Iterator[KgRecord]:
    """Every record of one KG file, bad lines as dead letters (stage ``read_kg``, with line numbers)."""
    yield from _read_items(path, config, opener, 0, None, count_lines=False)  # type: ignore[misc]


def read_kg_items(
    path: str, config: KgConfig, *, opener: Opener = open_raw, start: int = 0, end: int | None = None
) -> Iterator[KgItem]:
    """Records of ``path`` (or of the lines starting in ``[start, end)`` of an uncompressed line file),
    then one :class:`LinesRead`. Raises ValueError for an unknown extension."""
    yield from _read_items(path, config, opener, start, end, count_lines=True)


def _read_items(
    path: str, config: KgConfig, opener: Opener, start: int, end: int | None, *, count_lines: bool
) -> Iterator[KgItem]:
    fmt = kg_format_of(path)
    compression = compression_of(path)
    if (start or end is not None) and (fmt not in LINE_FORMATS or compression is not Compression.NONE):
        raise ValueError(f"{path}: only uncompressed line-oriented files can be read by byte range")
    if fmt in LINE_FORMATS:
        yield from _read_line_file(path, fmt, config, opener, start, end, count_lines)
        return
    data, problem = _read_all(path, compression, opener, config.max_rdflib_file_bytes)
    if problem is not None:
        yield problem
    lost = 0
    if data:
        syntax = sniff_owl_syntax(data) if fmt is KgFormat.OWL else _RDFLIB_SYNTAX[fmt]
        for record in parse_rdf_bytes(data, syntax, file=path, config=config):
            if isinstance(record, LinesRead):
                lost += record.lost
            else:
                yield record
    elif problem is None:
        yield make_dead_letter(STAGE, path, Reason.EMPTY_FILE, "", line=-1, byte_offset=0)
    if count_lines:
        yield LinesRead(path, line_count(data), lost=lost)


def _decompressing(raw: BinaryIO, compression: Compression) -> BinaryIO:
    if compression is Compression.GZIP:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if compression is Compression.BZIP2:
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    return raw


_DECOMPRESS_ERRORS = (EOFError, zlib.error, OSError)


def _read_all(
    path: str, compression: Compression, opener: Opener, limit: int
) -> tuple[bytes, DeadLetter | None]:
    """Whole (decompressed) content, cut at ``limit`` bytes, with a dead letter for a damaged or oversized file."""
    with opener(path) as raw:
        stream = _decompressing(raw, compression)
        try:
            data = stream.read(limit + 1)
        except _DECOMPRESS_ERRORS as err:
            return b"", make_dead_letter(STAGE, path, _damage_reason(err), f"{path}: {err}", line=-1)
    if len(data) > limit:
        excerpt = f"{path}: larger than max_rdflib_file_bytes={limit}; convert it to N-Triples to stream it"
        return b"", make_dead_letter(STAGE, path, Reason.TOO_LARGE, excerpt, line=-1)
    return data, None


def _damage_reason(err: BaseException) -> Reason:
    return Reason.TRUNCATED_COMPRESSED if isinstance(err, EOFError) else Reason.READ_ERROR


def _read_line_file(
    path: str, fmt: KgFormat, config: KgConfig, opener: Opener, start: int, end: int | None, count_lines: bool
) -> Iterator[KgItem]:
    """Line formats: parse each line; dead letters get absolute line numbers (counted lazily for ranges).

    Lines are read in bounded memory (:mod:`kgtext.common.lines`): one above ``config.max_line_bytes`` is a
    ``too_large`` dead letter and reading resumes at the next newline.
    """
    line_base: int | None = 0 if start == 0 else None
    count = 0
    damaged = False
    with opener(path) as raw:
        stream = _decompressing(raw, compression_of(path))
        first_line_at = skip_to_line_start(stream, start, end)
        lines = bounded_lines(stream, config.max_line_bytes, position=first_line_at, end=end)
        parse = _line_parser(fmt, path, config)
        try:
            for line in lines:
                count += 1
                if isinstance(line, LongLine):
                    record: KgRecord | list[LexiconEntry] | None = _too_large(path, line, count, config)
                else:
                    record = parse(line, count)
                if record is None:
                    continue
                if isinstance(record, list):
                    yield from record
                    continue
                if start and isinstance(record, DeadLetter):
                    if line_base is None:
                        line_base = _count_newlines(path, opener, first_line_at)
                    record = record._replace(line=record.line + line_base)
                yield record
        except _DECOMPRESS_ERRORS as err:
            excerpt = f"{path}: stopped after line {count}: {err}"
            yield make_dead_letter(STAGE, path, _damage_reason(err), excerpt, line=count + 1)
            damaged = True
    if count == 0 and start == 0 and not damaged:
        yield make_dead_letter(STAGE, path, Reason.EMPTY_FILE, "", line=-1, byte_offset=0)
    if count_lines:
        yield LinesRead(path, count)


def _too_large(path: str, line: LongLine, line_no: int, config: KgConfig) -> DeadLetter:
    limit = config.max_line_bytes
    excerpt = f"line of {line.length} bytes exceeds max_line_bytes={limit}; it starts {line.head!r}"
    return make_dead_letter(STAGE, path, Reason.TOO_LARGE, excerpt, line=line_no)


def _count_newlines(path: str, opener: Opener, upto: int) -> int:
    """Lines before byte ``upto`` of an uncompressed file (only needed when a range holds a bad line)."""
    total = 0
    with opener(path) as raw:
        remaining = upto
        while remaining > 0:
            block = raw.read(min(remaining, 1 << 20))
            if not block:
                break
            total += block.count(b"\n")
            remaining -= len(block)
    return total


LineParser: TypeAlias = Callable[[bytes, int], KgRecord | list[LexiconEntry] | None]


def _line_parser(fmt: KgFormat, path: str, config: KgConfig) -> LineParser:
    """The per-line parse function of a line format, with the per-file arguments bound once."""
    if fmt is KgFormat.NTRIPLES or fmt is KgFormat.NQUADS:
        allow_graph = fmt is KgFormat.NQUADS

        def parse_statement(line: bytes, line_no: int) -> KgRecord | None:
            return parse_ntriples_line(
                line, file=path, line_no=line_no, config=config, allow_graph=allow_graph
            )

        return parse_statement

    def parse_tsv(line: bytes, line_no: int) -> KgRecord | list[LexiconEntry] | None:
        return _parse_tsv_line(line, fmt, path, line_no, config)

    return parse_tsv


def _parse_tsv_line(
    line: bytes, fmt: KgFormat, path: str, line_no: int, config: KgConfig
) -> KgRecord | list[LexiconEntry] | None:
    try:
        text = line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return make_dead_letter(STAGE, path, Reason.INVALID_UTF8, line.rstrip(b"\r\n"), line=line_no)
    if not text.strip() or text.startswith("#"):
        return None
    if fmt is KgFormat.TSV_NAMES:
        return _parse_names_row(text, path, line_no, config)
    return _parse_tsv_triple(text, path, line_no, config)


def _tsv_term(field: str, prefix: str) -> str | None:
    """One TSV column as N-Triples term text: ``<iri>``/``"lit"``/``_:b`` kept, bare ids prefixed, IRIs wrapped."""
    field = field.strip()
    if field[:1] in ("<", '"', "_") and not _BARE_ID.fullmatch(field):
        return field
    if re.match(r"[A-Za-z][A-Za-z0-9+.\-]*://", field) and " " not in field:
        return f"<{field}>"
    if _BARE_ID.fullmatch(field):
        return f"<{prefix}{field}>"
    return None


def _parse_tsv_triple(text: str, path: str, line_no: int, config: KgConfig) -> KgRecord | None:
    fields = text.split("\t")
    if len(fields) != 3:
        return make_dead_letter(STAGE, path, Reason.BAD_TSV_ROW, text, line=line_no)
    head = _tsv_term(fields[0], config.tsv_entity_prefix)
    relation = _tsv_term(fields[1], config.tsv_relation_prefix)
    tail = _tsv_term(fields[2], config.tsv_entity_prefix)
    if head is None or relation is None:
        return make_dead_letter(STAGE, path, Reason.BAD_TSV_ROW, text, line=line_no)
    if tail is None:  # free text in the tail column: a plain literal
        tail = '"' + fields[2].strip().replace("\\", "\\\\").replace('"', '\\"') + '"'
    statement = f"{head} {relation} {tail} ."
    record = parse_ntriples_line(statement, file=path, line_no=line_no, config=config, allow_graph=False)
    if isinstance(record, DeadLetter):
        return record._replace(excerpt=text[: len(record.excerpt) + 64])
    return record


def _parse_names_row(text: str, path: str, line_no: int, config: KgConfig) -> list[LexiconEntry] | DeadLetter:
    """``id <TAB> label <TAB> alias ...`` -> one preferred entry and one alias entry per name (untagged)."""
    fields = [f.strip() for f in text.split("\t")]
    names = [f for f in fields[1:] if f]
    stem = _split_name(path)[0].lower()
    prefix = config.tsv_relation_prefix if "relation" in stem else config.tsv_entity_prefix
    term = _tsv_term(fields[0], prefix) if fields[0] else None
    if term is None or not term.startswith("<") or not names:
        return make_dead_letter(STAGE, path, Reason.BAD_TSV_ROW, text, line=line_no)
    iri = canonical_property_iri(term[1:-1])
    is_relation = "relation" in stem or re.match(config.property_iri_pattern, iri)
    kind = NameKind.RELATION if is_relation else NameKind.ENTITY
    entries = [LexiconEntry(iri, kind, names[0], True, "")] if fields[1] else []
    entries += [LexiconEntry(iri, kind, name, False, "") for name in names[1 if fields[1] else 0 :]]
    return entries
