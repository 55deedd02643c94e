"""Raw :class:`Document` -> :class:`CleanedDocument` (ERNIE 3.0 §3.3 cleaning), and the de-duplication key.

Cleaning runs segment by segment between link boundaries, so each link still points at the cleaned form
of its own anchor text: every rule (control characters, NFC, mojibake repair, repeated characters) is
applied to the text between two consecutive link edges independently. Paragraphs are then split on
blank lines, stripped, and identical consecutive paragraphs collapsed; links that end up outside the
kept text are dropped with a counted :class:`DropReason`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Sequence

import ftfy

from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.language import ENGLISH, Language
from kgtext.aligners.records import PARAGRAPH_SEPARATOR, CleanedDocument, Document, DropReason, Link
from kgtext.corpus.stats import StatFamily, StatKey

logger = logging.getLogger(__name__)

# C0/C1 controls, zero-width marks, and lone surrogates (valid as JSON "\ud800" escapes, not encodable as UTF-8).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\ufeff\ud800-\udfff]")
_NEWLINES = re.compile(r"\r\n?")
# UTF-8 read as latin-1/cp1252 always leaves a lead byte (U+00C2-U+00F4) before a continuation byte
# (U+0080-U+00BF or its cp1252 rendering): ftfy (slow) only runs on text holding such a pair.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)
_REPEATS = re.compile(r"([^\w\n])\1+")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")


def _clean_segment(text: str, config: AlignerConfig) -> str:
    """Apply the character-level rules to one segment of text (between link edges)."""
    if config.strip_control_chars:
        text = _NEWLINES.sub("\n", text).replace("\t", " ")
    if not text.isascii():
        # Mojibake repair first: its C1 bytes ("\x81" in "DorÄ«mÄ\x81") are not yet control noise.
        if config.fix_mojibake and _MOJIBAKE_HINT.search(text):
            text = ftfy.fix_encoding(text)
        if config.normalize_unicode:
            text = unicodedata.normalize("NFC", text)
    if config.strip_control_chars:
        text = _CONTROL.sub("", text)
    if config.collapse_repeats:
        text = _REPEATS.sub(r"\1", text)
    return text


def _valid_links(doc: Document, dropped: list[DropReason]) -> list[Link]:
    """Links inside the text, non-empty and non-overlapping (longest first at equal start)."""
    kept: list[Link] = []
    last_end = 0
    for link in sorted(doc.links, key=lambda k: (k.start, -k.end)):
        if not 0 <= link.start < link.end <= len(doc.text):
            dropped.append(DropReason.LINK_OUT_OF_RANGE)
        elif link.start < last_end:
            dropped.append(DropReason.LINK_OVERLAP)
        else:
            kept.append(link)
            last_end = link.end
    return kept


def _clean_with_links(text: str, links: list[Link], config: AlignerConfig) -> tuple[str, list[Link]]:
    """Clean ``text`` segment by segment; return the cleaned text and the links re-based onto it."""
    whole = _clean_segment(text, config)
    if whole == text or not links:
        # Nothing changed (the common case) or nothing to re-base: no need to cut at link edges.
        return whole, links
    edges = sorted({0, len(text), *(k.start for k in links), *(k.end for k in links)})
    new_offset: dict[int, int] = {0: 0}
    parts: list[str] = []
    total = 0
    for begin, end in zip(edges, edges[1:], strict=False):
        part = _clean_segment(text[begin:end], config)
        parts.append(part)
        total += len(part)
        new_offset[end] = total
    rebased = [Link(new_offset[k.start], new_offset[k.end], k.entity) for k in links]
    return "".join(parts), rebased


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each non-empty, whitespace-stripped paragraph (split on blank lines)."""
    spans: list[tuple[int, int]] = []
    begin = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = len(text) if match is None else match.start()
        chunk = text[begin:end]
        stripped = chunk.strip()
        if stripped:
            left = begin + (len(chunk) - len(chunk.lstrip()))
            spans.append((left, left + len(stripped)))
        if match is not None:
            begin = match.end()
    return spans


def _place_link(link: Link, spans: Sequence[tuple[int, int, int]], text: str) -> Link | DropReason:
    """Move a link from the cleaned full text into the joined paragraphs (``spans``: start, end, out)."""
    start, end = link.start, link.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:
        return DropReason.LINK_IN_REMOVED_TEXT
    for p_start, p_end, out in spans:
        if p_start <= start and end <= p_end:
            if out < 0:
                return DropReason.LINK_IN_REMOVED_TEXT
            return Link(out + start - p_start, out + end - p_start, link.entity)
        if start < p_end and p_start < end:
            return DropReason.LINK_CROSSES_PARAGRAPH
    return DropReason.LINK_IN_REMOVED_TEXT


def clean_document(doc: Document, config: AlignerConfig) -> CleanedDocument | DropReason:
    """Clean one document; a :class:`DropReason` when nothing usable is left or it is too long."""
    if len(doc.text) > config.max_document_chars:
        return DropReason.TOO_LONG
    # The reader's own link drops stay in ``doc.link_drops`` (counted at read time), not repeated here.
    dropped: list[DropReason] = []
    text, links = _clean_with_links(doc.text, _valid_links(doc, dropped), config)
    # Single newlines inside a paragraph are line wraps: a space keeps the offsets.
    spans = _paragraph_spans(text)
    paragraphs: list[str] = []
    placed: list[tuple[int, int, int]] = []
    out = 0
    for p_start, p_end in spans:
        para = text[p_start:p_end].replace("\n", " ")
        if config.collapse_duplicate_paragraphs and paragraphs and para == paragraphs[-1]:
            dropped.append(DropReason.DUPLICATE_PARAGRAPH)
            placed.append((p_start, p_end, -1))
            continue
        if paragraphs:
            out += len(PARAGRAPH_SEPARATOR)
        placed.append((p_start, p_end, out))
        paragraphs.append(para)
        out += len(para)
    if not paragraphs:
        return DropReason.EMPTY_AFTER_CLEANING
    kept: list[Link] = []
    for link in links:
        result = _place_link(link, placed, text)
        if isinstance(result, DropReason):
            dropped.append(result)
        else:
            kept.append(result)
    title = _clean_segment(doc.title, config).strip()
    return CleanedDocument(doc.id, title, doc.subject, tuple(paragraphs), tuple(kept), tuple(dropped))


def dedup_key(doc: CleanedDocument, *, language: Language = ENGLISH, n_sentences: int = 3) -> str:
    """Document de-duplication key: the sum of the MD5s of the ``n_sentences`` longest sentences (§3.3).

    Sentences are split by the language's regex; ties in length are broken by the text, so the key is a
    pure function of the document's sentences. Returned as 32 hex digits (the sum modulo 2**128).
    """
    sentences = [s for para in doc.paragraphs for s in language.split_sentences_regex(para)]
    longest = sorted(sentences, key=lambda s: (-len(s), s))[:n_sentences]
    total = sum(int(hashlib.md5(s.encode("utf-8")).hexdigest(), 16) for s in longest) % (1 << 128)
    return f"{total:032x}"


def cleaning_stats(result: CleanedDocument | DropReason) -> dict[str, int]:
    """Counters for the manifest: ``documents.dropped.<reason>`` for a dropped document; ``documents.cleaned``
    and ``links.dropped.<reason>`` / ``paragraphs.dropped.<reason>`` for what cleaning removed from a kept one."""
    if isinstance(result, DropReason):
        return {StatFamily.DOCUMENTS_DROPPED.key(result.value): 1}
    counts: dict[str, int] = {StatKey.DOCUMENTS_CLEANED.value: 1}
    for reason in result.dropped:
        family = (
            StatFamily.LINKS_DROPPED if reason.value.startswith("link") else StatFamily.PARAGRAPHS_DROPPED
        )
        key = family.key(reason.value)
        counts[key] = counts.get(key, 0) + 1
    return counts
