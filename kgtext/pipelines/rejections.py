# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""Rejections: the dead letters a build wrote -> a WARNING summary, a hint, and the rejected-share check.

Nothing an input loses is silent: every rejected record is a dead letter, and the build ends with a
WARNING summary by reason (how many, the first example, the dead-letter file) plus the counts of what
cleaning dropped. After phase 1 the shares of rejected KG lines (whole-file syntax losses, ``kg.lines_lost``,
included) and of rejected document records are checked against ``--max-rejected-fraction`` (``--strict``: 0);
a build that rejects more fails with its top reason and a hint ("use --text-field sent?"), and a failed
build keeps its dead letters in ``<out>.failed-<UTC time>/dead_letters/``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from kgtext.aligners.documents import STAGE as DOCS_STAGE
from kgtext.common.dead_letters import DeadLetter, Reason
from kgtext.common.jsonl import iter_json_lines
from kgtext.corpus.schemas import AlignmentLevel, MentionSource
from kgtext.corpus.stats import StatFamily, StatKey
from kgtext.kg.readers import LINE_FORMATS, kg_format_of
from kgtext.pipelines.files import InputError
from kgtext.pipelines.writers import join_path

logger = logging.getLogger(__name__)

KG_STAGE = "read_kg"
SNIFF_BYTES = 65536
"""How much of an input file is read to guess what it really holds (for hints)."""


def read_dead_letters(root: str) -> list[DeadLetter]:
    """Every dead letter under ``root/dead_letters/`` (sorted as written: stage, then file and line).

    Read with the one JSONL reader (:mod:`kgtext.common.jsonl`): an excerpt may hold U+2028, U+2029 or U+0085 raw
    (JSON allows them inside strings), and only ``\\n`` ends a dead letter.
    """
    pattern = join_path(root, "dead_letters", "*.jsonl")
    paths = sorted(m.path for r in FileSystems.match([pattern]) for m in r.metadata_list)
    letters = []
    for path in paths:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            letters += [DeadLetter(**line.value) for line in iter_json_lines(handle, path)]
    return letters


def _where(letter: DeadLetter) -> str:
    return f"{letter.file}:{letter.line}" if letter.line > 0 else letter.file


def _head(path: str) -> bytes:
    """The first bytes of an input file (empty when it cannot be read)."""
    try:
        with FileSystems.open(path) as handle:
            data: bytes = handle.read(SNIFF_BYTES)
            return data
    except (OSError, ValueError):
        return b""


_TURTLE = re.compile(rb"^\s*(@prefix|@base|PREFIX\s|BASE\s)", re.MULTILINE | re.IGNORECASE)


def hint(letter: DeadLetter) -> str:
    """What the user probably has to do about ``letter``'s kind of rejection, or ``""``."""
    if letter.reason == Reason.MISSING_FIELD and letter.stage == DOCS_STAGE:
        found = re.search(r"longest text in '([^']+)'", letter.excerpt)
        return f"use --text-field {found.group(1)}?" if found else "use --text-field?"
    lower = letter.file.lower()
    if letter.reason == Reason.SYNTAX_ERROR and lower.endswith((".nt", ".nt.gz", ".nq", ".nq.gz")):
        if _TURTLE.search(_head(letter.file)):
            return f"{os.path.basename(letter.file)} holds Turtle (@prefix lines), not N-Triples: rename it to .ttl"
    if letter.reason == Reason.INVALID_JSON and lower.endswith(".jsonl"):
        if _head(letter.file).lstrip().startswith(b"["):
            return f"{os.path.basename(letter.file)} is one JSON array, not JSON lines: rename it to .json"
    return ""


class Group(NamedTuple):
    """The dead letters of one (stage, file, reason)."""

    stage: str
    file: str
    reason: str
    size: int
    first: DeadLetter


def groups(letters: Sequence[DeadLetter]) -> list[Group]:
    """Dead letters grouped by (stage, file, reason), the largest group first (then by name)."""
    counts = Counter((d.stage, d.file, d.reason) for d in letters)
    first: dict[tuple[str, str, str], DeadLetter] = {}
    for letter in letters:
        first.setdefault((letter.stage, letter.file, letter.reason), letter)
    ordered = sorted(counts, key=lambda key: (-counts[key], key))
    return [Group(*key, counts[key], first[key]) for key in ordered]


def group_line(group: Group, out: str) -> str:
    """``5,335 x missing_field in train.jsonl (first at train.jsonl:1): 'text' (...) [OUT/dead_letters/...]``."""
    extra = hint(group.first)
    return (
        f"{group.size:,} x {group.reason} in {group.file} (first at {_where(group.first)}): "
        f"{group.first.excerpt[:200]}{f' -> {extra}' if extra else ''}"
        f" [{out.rstrip('/')}/dead_letters/{group.stage}.jsonl]"
    )


def rejection_lines(letters: Sequence[DeadLetter], stats: Mapping[str, int], out: str) -> list[str]:
    """One line per (stage, file, reason), the largest first, plus the KG lines whole-file syntaxes lost."""
    lines = [group_line(group, out) for group in groups(letters)]
    lost = stats.get(StatKey.KG_LINES_LOST, 0)
    if lost:
        lines.append(
            f"{lost:,} of {stats.get(StatKey.KG_LINES_READ, 0):,} KG lines were lost to syntax errors ({StatKey.KG_LINES_LOST.value})"
        )
    return lines


class Share(NamedTuple):
    """Rejected input units of one kind (KG lines, document records) out of all read."""

    what: str
    rejected: int
    total: int

    @property
    def fraction(self) -> float:
        return self.rejected / self.total if self.total else 0.0

    def describe(self) -> str:
        return f"{self.rejected:,} of {self.total:,} {self.what} ({self.fraction:.1%})"


def shares(letters: Sequence[DeadLetter], stats: Mapping[str, int]) -> tuple[Share, Share]:
    """The rejected shares of KG lines (dead letters + lines lost) and of document records.

    Conflicting duplicate ids are not rejections of bad input (the first copy is kept) and do not count. A
    whole-file syntax (Turtle, RDF/XML) counts the lines it lost (``kg.lines_lost``), not its dead letters,
    which name the same statements.
    """
    kg = sum(1 for d in letters if d.stage == KG_STAGE and _line_oriented(d.file)) + stats.get(
        StatKey.KG_LINES_LOST, 0
    )
    docs = sum(1 for d in letters if d.stage == DOCS_STAGE and d.reason != Reason.DUPLICATE_ID)
    kg_total = max(stats.get(StatKey.KG_LINES_READ, 0), kg)
    return Share("KG lines", kg, kg_total), Share(
        "document records", docs, stats.get(StatKey.DOCUMENTS_READ, 0) + docs
    )


def _line_oriented(path: str) -> bool:
    """Whether a KG file is read line by line (one dead letter per rejected line); unknown files count too."""
    try:
        return kg_format_of(path) in LINE_FORMATS
    except ValueError:
        return True


def top_reason(letters: Sequence[DeadLetter], stage: str | None = None) -> str:
    """The largest group of rejections as one phrase with its hint:
    ``5,335 x missing_field 'text' in train.jsonl: use --text-field sent?`` (``""`` when none)."""
    chosen = [d for d in letters if stage is None or d.stage == stage]
    if not chosen:
        return ""
    group = groups(chosen)[0]
    field = re.match(r"'[^']*'", group.first.excerpt) if group.reason == Reason.MISSING_FIELD else None
    what = f"{group.reason} {field.group(0)}" if field else group.reason
    extra = hint(group.first)
    return f"{group.size:,} x {what} in {group.file}{f': {extra}' if extra else ''}"


class Rejections(NamedTuple):
    """What phase 0 and 1 rejected: the dead letters and the summary lines."""

    letters: list[DeadLetter]
    lines: list[str]

    def top(self) -> str:
        return top_reason(self.letters)


def check_rejections(root: str, stats: Mapping[str, int], out: str, *, limit: float) -> Rejections:
    """Read the dead letters; an :class:`InputError` naming the top reason when the rejected share of KG
    lines or of document records is above ``limit`` (``--max-rejected-fraction``; ``--strict`` is 0)."""
    letters = read_dead_letters(root)
    found = Rejections(letters, rejection_lines(letters, stats, out))
    kg, docs = shares(letters, stats)
    flag = "--strict" if limit == 0 else f"--max-rejected-fraction {limit:g}"
    for share, stage in ((docs, DOCS_STAGE), (kg, KG_STAGE)):
        if share.rejected and share.fraction > limit:
            reason = top_reason(letters, stage) or f"{stats.get(StatKey.KG_LINES_LOST, 0):,} KG lines lost"
            raise InputError(
                f"{share.describe()} were rejected, more than {flag} allows; top reason: {reason}"
            )
    if letters or stats.get(StatKey.KG_LINES_LOST, 0):
        logger.info(
            "phase 1: %s and %s rejected (the summary at the end gives reasons)",
            kg.describe(),
            docs.describe(),
        )
    return found


def dropped_lines(stats: Mapping[str, int]) -> list[str]:
    """``documents.dropped.duplicate_document: 3`` lines: what cleaning and de-duplication dropped."""
    return [
        f"{name}: {value:,}" for name, value in sorted(stats.items()) if ".dropped." in f".{name}" and value
    ]


def report_summary(rejections: Rejections, stats: Mapping[str, int], out: str) -> None:
    """The closing WARNING summary of a build: rejections by reason, drops by reason, the dead letters."""
    dropped = dropped_lines(stats)
    if not rejections.lines and not dropped:
        logger.info("summary: no input record or KG statement was rejected or dropped")
        return
    kg, docs = shares(rejections.letters, stats)
    if rejections.lines:
        logger.warning("summary: rejected %s and %s:", kg.describe(), docs.describe())
        for line in rejections.lines:
            logger.warning("  rejected: %s", line)
        logger.warning("  dead letters: %s/dead_letters/ (kgtext inspect shows the counts)", out.rstrip("/"))
    else:
        logger.warning("summary: no input record or KG statement was rejected; dropped while cleaning:")
    for line in dropped:
        logger.warning("  dropped: %s", line)


def keep_dead_letters(root: str, out: str) -> str | None:
    """Move a failed build's ``dead_letters/`` to ``<out>.failed-<UTC time>/dead_letters/``; that path, or
    None when there were none (or ``out`` is remote: the inputs are intact, only the diagnosis is lost)."""
    source = os.path.join(root, "dead_letters")
    if "://" in out or not os.path.isdir(source) or not os.listdir(source):
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = target = f"{os.path.abspath(out).rstrip(os.sep)}.failed-{stamp}"
    suffix = 1
    while os.path.exists(target):  # two failures in one second
        suffix += 1
        target = f"{base}-{suffix}"
    os.makedirs(target)
    shutil.move(source, os.path.join(target, "dead_letters"))
    return os.path.join(target, "dead_letters")


FEW_MENTIONS = 0.5
"""Below this share of aligned documents with at least one mention, the build warns."""


def alignment_warnings(stats: Mapping[str, int]) -> list[str]:
    """Why a build aligned nothing (or little), in the user's terms, from phase 1's counters."""
    documents = stats.get(StatKey.ALIGNED_DOCUMENTS, 0)
    if not documents:
        return []
    mentions = StatFamily.ALIGNED_MENTIONS.total(stats, MentionSource)  # not the ones below the threshold
    triples = StatFamily.ALIGNED_TRIPLES.total(stats, AlignmentLevel)
    with_mentions = stats.get(StatKey.ALIGNED_DOCUMENTS_WITH_MENTIONS, 0)
    linked = stats.get(StatKey.DOCUMENTS_WITH_LINKS, 0) + stats.get(StatKey.DOCUMENTS_WITH_SUBJECT, 0)
    below = stats.get(StatKey.ALIGNED_MENTIONS_BELOW_THRESHOLD, 0)
    lines = []
    lexicon = StatKey.LEXICON_FORMS in stats
    if not mentions and below:
        lines.append(
            f"no mention was kept in {documents:,} documents: all {below:,} found were below "
            "--min-mention-confidence; lower it (0 keeps every mention)"
        )
    elif not mentions and not linked and not lexicon:
        lines.append(
            f"no entity was found in {documents:,} documents: none has `links` or a `subject` and "
            "--lexicon-linking off is set, so nothing can name a KG entity; drop it"
        )
    elif not mentions and not linked:
        lines.append(
            f"no entity was found in {documents:,} documents: no label or alias of the KG's "
            f"{stats.get(StatKey.LEXICON_ENTITIES, 0):,} named entities occurs in the text (is the KG about these "
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
