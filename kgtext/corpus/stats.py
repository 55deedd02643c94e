"""The manifest's statistics keys: one enum for the fixed keys, one for the families keyed by a reason,
source, level, stage or task. Every writer (the build's stages) and reader (the build's summary and
checks, ``kgtext inspect``, the benchmarks) names a key through them, never as a free dotted string.

Both are string enums, so a key is the plain string stored in ``manifest.json`` (``"kg.triples"``) and
``statistics[StatKey.KG_TRIPLES]`` reads a loaded manifest. docs/PIPELINE.md describes each key.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping


class StatKey(enum.StrEnum):
    """A fixed statistics key."""

    KG_LINES_READ = "kg.lines_read"
    KG_LINES_LOST = "kg.lines_lost"
    KG_TRIPLES = "kg.triples"
    KG_LEXICON_ENTRIES = "kg.lexicon_entries"
    DOCUMENTS_READ = "documents.read"
    DOCUMENTS_WITH_LINKS = "documents.with_links"
    DOCUMENTS_WITH_SUBJECT = "documents.with_subject"
    DOCUMENTS_CLEANED = "documents.cleaned"
    DOCUMENTS_KEPT = "documents.kept"
    LEXICON_ENTITIES = "lexicon.entities"
    LEXICON_FORMS = "lexicon.forms"
    LEXICON_FORMS_SKIPPED = "lexicon.forms.skipped"
    LEXICON_FORMS_CAPPED = "lexicon.forms.capped"
    ALIGNED_DOCUMENTS = "aligned.documents"
    ALIGNED_SENTENCES = "aligned.sentences"
    ALIGNED_SENTENCES_SHORT = "aligned.sentences.short"
    ALIGNED_RELATION_MENTIONS = "aligned.relation_mentions"
    ALIGNED_MENTIONS_BELOW_THRESHOLD = "aligned.mentions.below_threshold"
    """Mentions dropped by ``--min-mention-confidence`` (not mentions of a source: see :meth:`StatFamily.total`)."""
    ALIGNED_DOCUMENTS_WITH_MENTIONS = "aligned.documents.with_mentions"
    ALIGNED_DOCUMENTS_WITH_TRIPLES = "aligned.documents.with_triples"


class StatFamily(enum.StrEnum):
    """Keys made of a prefix and one or more names: ``StatFamily.KG_REJECTED.key("bad_iri")``."""

    KG_REJECTED = "kg.rejected"
    """By dead-letter reason."""
    DOCUMENTS_REJECTED = "documents.rejected"
    """By dead-letter reason."""
    DOCUMENTS_DROPPED = "documents.dropped"
    """By drop reason (duplicates, cleaning)."""
    ALIGNED_MENTIONS = "aligned.mentions"
    """By mention source."""
    ALIGNED_TRIPLES = "aligned.triples"
    """By alignment level."""
    LINKS_DROPPED = "links.dropped"
    """By drop reason: links removed while cleaning a kept document."""
    PARAGRAPHS_DROPPED = "paragraphs.dropped"
    """By drop reason: paragraphs removed while cleaning a kept document."""
    DEAD_LETTERS = "dead_letters"
    """By stage."""
    TASKS = "tasks"
    """By task, then builder outcome."""
    ROWS = "rows"
    """By dataset, then split: the rows written (the manifest's shard list, summed)."""

    def key(self, *names: str) -> str:
        """``prefix.name[.name...]``."""
        return ".".join((self.value, *names))

    @property
    def prefix(self) -> str:
        """What every key of the family starts with (the value and a dot)."""
        return self.value + "."

    def total(self, stats: Mapping[str, int], names: Iterable[str]) -> int:
        """The sum of the family's counters for ``names`` (e.g. every mention source, leaving out
        ``aligned.mentions.below_threshold``, which counts mentions dropped)."""
        return sum(stats.get(self.key(name), 0) for name in names)
