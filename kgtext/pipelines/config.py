"""Configuration of ``kgtext build-corpus``: inputs, output, sharding, split, tokenizer and task settings."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kgtext.aligners.documents import DEFAULT_MAX_DOC_BYTES, FieldMap
from kgtext.common.lines import DEFAULT_MAX_LINE_BYTES
from kgtext.corpus.tasks.tokenizer import MIN_VOCAB_SIZE


class LexiconLinking(str, enum.Enum):
    """Which documents are linked against the whole KG's names (``--lexicon-linking``)."""

    UNLINKED = "unlinked"
    """Documents without links (plain text, or only a subject): links are the stronger evidence, and
    lexicon candidates in linked documents cost join traffic for little (docs/ALIGNMENT.md)."""
    ALL = "all"
    OFF = "off"


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildConfig:
    """kgtext's own options of one corpus build (Beam's options travel separately)."""

    kg: tuple[str, ...]
    """KG input paths, globs or directories (any scheme Beam's FileSystems knows: local, gs://, s3://)."""
    docs: tuple[str, ...]
    """Document input paths, globs or directories."""
    out: str
    """Output corpus directory; built in a temporary sibling and moved into place at the end."""
    overwrite: bool = False
    """Replace an existing corpus at ``out`` (otherwise an existing ``out`` is an error)."""
    num_shards: int = 4
    """Shards per dataset split (the same count for every dataset; empty shards are still written)."""
    valid_fraction: float = 0.05
    """Share of documents (by hash of the document id) that go to the ``valid`` split."""
    seed: int = 0
    """Seed of every random choice (task builders, sentence-distance negatives), with the document id."""
    language: str = "en"
    """Language code of the documents (spaCy ``blank(language)``)."""
    spacy_model: str | None = None
    """Name of an installed spaCy pipeline, or None for the rule-based blank pipeline."""
    min_sentence_words: int = 10
    """Sentences with fewer words are kept for SR/SD/DLM but not written to ``aligned/``, ``kmlm/``, ``uktp/``."""
    min_mention_confidence: float = 0.0
    """Mentions the linker is less sure of are dropped before alignment (``aligned.mentions.confidence``)."""
    vocab_size: int = 8000
    """SentencePiece vocabulary size (pieces)."""
    tokenizer_sample_sentences: int = 200_000
    """At most this many cleaned sentences (the smallest hashes) train the tokenizer."""
    tokenizer: str = ""
    """A SentencePiece ``.model`` to reuse instead of training one (``""``: train on the corpus); it must
    reserve kgtext's special pieces at ids 0..4, as a kgtext corpus's ``tokenizer/spm.model`` does."""
    sd_docs_per_bucket: int = 64
    """Documents per hash bucket when drawing sentence-distance negatives (memory of one bucket group)."""
    log_examples: int = 10
    """Number of aligned sentences logged at INFO after alignment."""
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    """Longest line (bytes) of a line-oriented KG or document file; longer lines are ``too_large`` dead letters."""
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES
    """Most bytes one document record may take (a JSONL line, one record of a .json file, a .txt file, a Parquet
    row's text); larger ones are ``too_large`` dead letters, read no further than the limit."""
    lexicon_linking: LexiconLinking = LexiconLinking.UNLINKED
    """Which documents get candidate entities from an index of every KG name (plain text needs no links)."""
    strict: bool = False
    """Fail the build when any input record or KG statement was rejected (``max_rejected_fraction`` 0)."""
    max_rejected_fraction: float = 0.5
    """Fail the build when a larger share of the KG lines, or of the document records, was rejected (KG
    lines a whole-file syntax lost included); checked separately for the two, after phase 1."""
    text_field: str = "text"
    """Field of a JSONL/JSON/Parquet document record holding its text (e.g. ``sent`` for TEKGEN)."""
    id_field: str = "id"
    """Field holding the document id; a record without one gets ``<file>:<line>``."""
    title_field: str = "title"
    subject_field: str = "subject"
    """Field holding the IRI (or, with ``entity_prefix``, the bare id) of the entity the document is about."""
    links_field: str = "links"
    """Field holding the hyperlinks, ``[{"start", "end", "entity"}]``."""
    entity_prefix: str = ""
    """Prefix that turns bare subject and link ids (``Q42``) into the KG's IRIs."""

    @property
    def fields(self) -> FieldMap:
        """The document field mapping of ``--text-field`` & co."""
        return FieldMap(
            text=self.text_field,
            id=self.id_field,
            title=self.title_field,
            subject=self.subject_field,
            links=self.links_field,
            entity_prefix=self.entity_prefix,
        )

    @property
    def rejected_limit(self) -> float:
        """The share of rejected KG lines or document records above which the build fails."""
        return 0.0 if self.strict else self.max_rejected_fraction

    def __post_init__(self) -> None:
        if not self.kg:
            raise ValueError("kg must name at least one input path")
        if not self.docs:
            raise ValueError("docs must name at least one input path")
        if not self.out:
            raise ValueError("out must be a path")
        if self.num_shards <= 0:
            raise ValueError(f"num_shards must be positive, got {self.num_shards}")
        if not 0.0 <= self.valid_fraction < 1.0:
            raise ValueError(f"valid_fraction must be in [0, 1), got {self.valid_fraction}")
        if self.vocab_size < MIN_VOCAB_SIZE:
            raise ValueError(
                f"vocab_size must be >= {MIN_VOCAB_SIZE} (specials + byte pieces), got {self.vocab_size}"
            )
        if self.tokenizer_sample_sentences <= 0:
            raise ValueError(
                f"tokenizer_sample_sentences must be positive, got {self.tokenizer_sample_sentences}"
            )
        if self.sd_docs_per_bucket <= 1:
            raise ValueError(f"sd_docs_per_bucket must be > 1, got {self.sd_docs_per_bucket}")
        if self.min_sentence_words < 0:
            raise ValueError(f"min_sentence_words must be >= 0, got {self.min_sentence_words}")
        if not 0.0 <= self.min_mention_confidence <= 1.0:
            raise ValueError(f"min_mention_confidence must be in [0, 1], got {self.min_mention_confidence}")
        if self.max_line_bytes <= 0:
            raise ValueError(f"max_line_bytes must be > 0, got {self.max_line_bytes}")
        if self.max_doc_bytes <= 0:
            raise ValueError(f"max_doc_bytes must be > 0, got {self.max_doc_bytes}")
        if self.log_examples < 0:
            raise ValueError(f"log_examples must be >= 0, got {self.log_examples}")
        if not 0.0 <= self.max_rejected_fraction <= 1.0:
            raise ValueError(f"max_rejected_fraction must be in [0, 1], got {self.max_rejected_fraction}")
        self.fields  # noqa: B018 (validates the field names: non-empty and distinct)
