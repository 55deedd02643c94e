# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""After phase 1: the dead letters it wrote -> one WARNING per (file, reason), or a failure with ``--strict``;
and a WARNING with the likely reason when the build aligned nothing, or few documents got a mention.

Nothing an input loses is silent: every rejected record is a dead letter, and the build says so at the end
of phase 1 (before the tokenizer is trained), naming the file, the reason, how many, and the first line,
plus how many KG lines whole-file syntaxes lost (``kg.lines_lost``). With ``--strict`` any dead letter
fails the build instead.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from apache_beam.io.filesystems import FileSystems

from corpus.records import DeadLetter
from pipelines.files import InputError, read_bytes
from pipelines.writers import join_path

logger = logging.getLogger(__name__)


def read_dead_letters(root: str) -> list[DeadLetter]:
    """Every dead letter under ``root/dead_letters/`` (sorted as written: stage, then file and line)."""
    pattern = join_path(root, "dead_letters", "*.jsonl")
    paths = sorted(m.path for r in FileSystems.match([pattern]) for m in r.metadata_list)
    letters = []
    for path in paths:
        for line in read_bytes(path).decode("utf-8").splitlines():
            letters.append(DeadLetter(**json.loads(line)))
    return letters


def _where(letter: DeadLetter) -> str:
    return f"{letter.file}:{letter.line}" if letter.line > 0 else letter.file


def rejection_lines(letters: Sequence[DeadLetter], stats: Mapping[str, int], out: str) -> list[str]:
    """One line per (stage, file, reason): ``3 x syntax_error in kg.ttl (first at kg.ttl:5000): ...``."""
    counts = Counter((d.stage, d.file, d.reason) for d in letters)
    first: dict[tuple[str, str, str], DeadLetter] = {}
    for letter in letters:
        first.setdefault((letter.stage, letter.file, letter.reason), letter)
    lines = []
    for key in sorted(counts):
        stage, file, reason = key
        example = first[key]
        lines.append(
            f"{counts[key]} x {reason} in {file} (first at {_where(example)}): {example.excerpt[:200]}"
            f" [{out.rstrip('/')}/dead_letters/{stage}.jsonl]"
        )
    lost = stats.get("kg.lines_lost", 0)
    if lost:
        lines.append(
            f"{lost:,} of {stats.get('kg.lines_read', 0):,} KG lines were lost to syntax errors (kg.lines_lost)"
        )
    return lines


def report_rejections(root: str, stats: Mapping[str, int], out: str, *, strict: bool) -> None:
    """Log every kind of rejection as a WARNING; with ``strict``, any rejection is an :class:`InputError`."""
    letters = read_dead_letters(root)
    lines = rejection_lines(letters, stats, out)
    if strict and letters:
        raise InputError(
            f"--strict: {len(letters)} input record(s) or KG statement(s) were rejected; first: {lines[0]}"
        )
    for line in lines:
        logger.warning("rejected: %s", line)
    if letters:
        logger.warning(
            "%d input record(s) or statement(s) rejected in all (dead letters kept in the corpus; "
            "--strict makes any rejection fatal)",
            len(letters),
        )


FEW_MENTIONS = 0.5
"""Below this share of aligned documents with at least one mention, the build warns."""


def alignment_warnings(stats: Mapping[str, int]) -> list[str]:
    """Why a build aligned nothing (or little), in the user's terms, from phase 1's counters."""
    documents = stats.get("aligned.documents", 0)
    if not documents:
        return []
    mentions = sum(v for k, v in stats.items() if k.startswith("aligned.mentions."))
    triples = sum(v for k, v in stats.items() if k.startswith("aligned.triples."))
    with_mentions = stats.get("aligned.documents.with_mentions", 0)
    linked = stats.get("documents.with_links", 0) + stats.get("documents.with_subject", 0)
    lines = []
    lexicon = "lexicon.forms" in stats
    if not mentions and not linked and not lexicon:
        lines.append(
            f"no entity was found in {documents:,} documents: none has `links` or a `subject` and "
            "--lexicon-linking off is set, so nothing can name a KG entity; drop it"
        )
    elif not mentions and not linked:
        lines.append(
            f"no entity was found in {documents:,} documents: no label or alias of the KG's "
            f"{stats.get('lexicon.entities', 0):,} named entities occurs in the text (is the KG about these "
            "documents, in their language, and does it name its entities with rdfs:label or skos:altLabel?)"
        )
    elif not mentions:
        lines.append(
            f"no entity was found in {documents:,} documents: check that the links and subjects use the KG's IRIs "
            "and that the KG names its entities (rdfs:label, skos:altLabel, ...)"
        )
    elif not triples:
        lines.append(
            f"{mentions:,} mentions but no triple aligned: no KG triple joins two entities mentioned in one "
            "sentence (or the subject and a mentioned entity); is the KG about these documents?"
        )
    elif with_mentions < FEW_MENTIONS * documents:
        lines.append(
            f"only {with_mentions:,} of {documents:,} documents ({with_mentions / documents:.0%}) got a mention; "
            f"{documents - with_mentions:,} have none (documents with links or a subject: {linked:,} counted "
            "over both fields)"
        )
    return lines


def report_alignment(stats: Mapping[str, int]) -> None:
    for line in alignment_warnings(stats):
        logger.warning("alignment: %s", line)
