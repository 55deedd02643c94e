"""Configuration of the aligner: language, spaCy pipeline, cleaning rules and matching bounds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class AlignerConfig:
    """Settings for :mod:`kgtext.aligners.clean` and :class:`kgtext.aligners.align.Aligner`."""

    language: str = "en"
    """Language code; must be one :func:`kgtext.aligners.language.language_for` knows (``en``)."""
    spacy_model: str | None = None
    """Name of an installed spaCy pipeline; None = ``spacy.blank(language)`` + ``sentencizer``."""
    min_sentence_words: int = 10
    """Sentences with fewer words are kept in the document but not in ``aligned/`` (ERNIE 3.0 §3.3)."""
    normalize_unicode: bool = True
    """Apply Unicode NFC."""
    fix_mojibake: bool = True
    """Repair latin-1/UTF-8 mojibake with ftfy (only non-ASCII text is examined)."""
    collapse_repeats: bool = True
    """Collapse runs of an identical non-alphanumeric character (spaces, ``!!!``) to one (§3.3)."""
    collapse_duplicate_paragraphs: bool = True
    """Drop a paragraph identical to the paragraph before it (§3.3)."""
    strip_control_chars: bool = True
    """Remove C0/C1 control characters other than newline; tabs become spaces."""
    max_document_chars: int = 1_000_000
    """Longer documents are dropped with ``too_long`` (characters, after reading)."""
    max_chunk_chars: int = 100_000
    """Paragraphs longer than this are cut at whitespace into chunks before spaCy (characters)."""
    max_candidates: int = 50_000
    """At most this many candidate entities per document are matched (the rest are ignored, counted)."""
    max_candidates_per_name: int = 1
    """Plain-text linking: entities kept per surface form that names several, the best by KG coherence,
    label before alias, then degree (:func:`kgtext.aligners.candidates.keep_per_form`); 0 keeps all. Linking
    cost then follows the document, not how many entities share its names (docs/ALIGNMENT.md)."""
    min_name_chars: int = 2
    """Names shorter than this (characters) are not matched."""
    nested_literals: bool = True
    """Also report a date/number inside a longer entity mention (the only overlapping mentions)."""
    subject_pronouns: bool = True
    """A sentence-initial pronoun refers to the document subject (source ``subject``)."""
    subject_short_title: bool = False
    """The last word of the subject's capitalised 2-4 word name ("Shepard") refers to it (source ``subject``).

    Off by default: on WebNLG dev it adds 0.002 name recall for 0.007 precision (docs/ALIGNMENT.md)."""
    infer_topic: bool = True
    """A document without a subject gets its best-connected mentioned entity as subject (for ``nosub``)."""
    topic_min_edges: int = 1
    """An inferred topic needs at least this many KG edges to the document's other candidates."""
    topic_window: int = 1
    """An inferred topic holds in the sentences naming it and this many sentences after each."""
    min_mention_confidence: float = 0.0
    """Mentions whose confidence (``aligned.mentions.confidence``, docs/ALIGNMENT.md) is below this are dropped
    before triples are aligned (counted as ``mentions.below_threshold``); 0 keeps every mention."""
    dedup_sentences: int = 3
    """The de-duplication key hashes this many longest sentences (ERNIE 3.0 §3.3: 3)."""

    def __post_init__(self) -> None:
        if not self.language:
            raise ValueError(f"language must be a language code, got {self.language!r}")
        positive = {
            "max_document_chars": self.max_document_chars,
            "max_chunk_chars": self.max_chunk_chars,
            "max_candidates": self.max_candidates,
            "min_name_chars": self.min_name_chars,
            "dedup_sentences": self.dedup_sentences,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.max_candidates_per_name < 0:
            raise ValueError(f"max_candidates_per_name must be >= 0, got {self.max_candidates_per_name}")
        if self.min_sentence_words < 0:
            raise ValueError(f"min_sentence_words must be >= 0, got {self.min_sentence_words}")
        if self.topic_min_edges < 1 or self.topic_window < 0:
            raise ValueError(
                f"topic_min_edges must be >= 1 and topic_window >= 0, got {self.topic_min_edges}, {self.topic_window}"
            )
        if not 0.0 <= self.min_mention_confidence <= 1.0:
            raise ValueError(f"min_mention_confidence must be in [0, 1], got {self.min_mention_confidence}")
        if self.spacy_model is not None and not self.spacy_model.strip():
            raise ValueError(f"spacy_model must be None or a pipeline name, got {self.spacy_model!r}")
