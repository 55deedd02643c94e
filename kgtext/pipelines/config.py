"""Configuration of ``kgtext build-corpus``: one :class:`BuildConfig`, nested from the component configs.

The build's own settings (inputs, output, sharding, split, linking, limits) sit at the top; each component
keeps its own validated config: ``kg`` (:class:`~kgtext.kg.config.KgConfig`), ``fields``
(:class:`~kgtext.aligners.documents.FieldMap`), ``aligner`` (:class:`~kgtext.aligners.config.AlignerConfig`),
``tokenizer`` (:class:`TokenizerChoice`), ``tasks`` (:class:`~kgtext.corpus.tasks.config.TasksConfig`) and
``rejections`` (:class:`RejectionPolicy`). The command line is flat: :meth:`BuildConfig.from_flags` builds the
nested config from the flags' values and :meth:`BuildConfig.flags` gives them back (the manifest records
them, so a build can be repeated from its manifest).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.documents import DEFAULT_FIELDS, DEFAULT_MAX_DOC_BYTES, FieldMap
from kgtext.corpus.tasks.config import TasksConfig
from kgtext.corpus.tasks.tokenizer import TokenizerConfig
from kgtext.kg.config import KgConfig


class LexiconLinking(str, enum.Enum):
    """Which documents are linked against the whole KG's names (``--lexicon-linking``)."""

    UNLINKED = "unlinked"
    """Documents without links (plain text, or only a subject): links are the stronger evidence, and
    lexicon candidates in linked documents cost join traffic for little (docs/ALIGNMENT.md)."""
    ALL = "all"
    OFF = "off"


def _build_tokenizer_config() -> TokenizerConfig:
    """The build's tokenizer training: a vocabulary a small corpus cannot fill is a soft limit."""
    return TokenizerConfig(hard_vocab_limit=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenizerChoice:
    """The corpus tokenizer: trained on a sample of the cleaned sentences, or a given model reused."""

    train: TokenizerConfig = field(default_factory=_build_tokenizer_config)
    """How SentencePiece is trained (``--vocab-size``; its seed is ``--seed``)."""
    sample_sentences: int = 200_000
    """At most this many cleaned sentences (the smallest hashes) train the tokenizer."""
    given: str = ""
    """A SentencePiece ``.model`` to reuse instead of training one (``""``: train on the corpus); it must
    reserve kgtext's special pieces at ids 0..4, as a kgtext corpus's ``tokenizer/spm.model`` does."""

    def __post_init__(self) -> None:
        if self.sample_sentences <= 0:
            raise ValueError(f"tokenizer_sample_sentences must be positive, got {self.sample_sentences}")

    @property
    def sample_size(self) -> int:
        """Sentences phase 1 samples for training: none when a given model is reused."""
        return 0 if self.given else self.sample_sentences


@dataclass(frozen=True, kw_only=True, slots=True)
class RejectionPolicy:
    """When rejected input fails the build (``--strict``, ``--max-rejected-fraction``)."""

    strict: bool = False
    """Fail the build when any input record or KG statement was rejected (``max_rejected_fraction`` 0)."""
    max_rejected_fraction: float = 0.5
    """Fail the build when a larger share of the KG lines, or of the document records, was rejected (KG
    lines a whole-file syntax lost included); checked separately for the two, after phase 1."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_rejected_fraction <= 1.0:
            raise ValueError(f"max_rejected_fraction must be in [0, 1], got {self.max_rejected_fraction}")

    @property
    def limit(self) -> float:
        """The share of rejected KG lines or document records above which the build fails."""
        return 0.0 if self.strict else self.max_rejected_fraction


@dataclass(frozen=True, kw_only=True, slots=True)
class BuildConfig:
    """kgtext's own options of one corpus build (Beam's options travel separately)."""

    kg_paths: tuple[str, ...]
    """KG input paths, globs or directories (any scheme Beam's FileSystems knows: local, gs://, s3://)."""
    doc_paths: tuple[str, ...]
    """Document input paths, globs or directories."""
    out: str
    """Output corpus directory; built in a temporary sibling and moved into place at the end."""
    overwrite: bool = False
    """Replace an existing corpus at ``out`` (otherwise an existing ``out`` is an error)."""
    kg_index: str = ""
    """A ``kgtext index-kg`` folder whose look-up files replace phase 0 (``""``: read and index ``kg_paths``)."""
    num_shards: int = 4
    """Shards per dataset split (the same count for every dataset; empty shards are still written)."""
    valid_fraction: float = 0.05
    """Share of documents (by hash of the document id) that go to the ``valid`` split."""
    lexicon_linking: LexiconLinking = LexiconLinking.UNLINKED
    """Which documents get candidate entities from an index of every KG name (plain text needs no links)."""
    max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES
    """Most bytes one document record may take (a JSONL line, one record of a .json file, a .txt file, a Parquet
    row's text); larger ones are ``too_large`` dead letters, read no further than the limit. (The longest
    line of a KG or document file is ``kg.max_line_bytes``.)"""
    sd_docs_per_bucket: int = 64
    """Documents per hash bucket when drawing sentence-distance negatives (memory of one bucket group)."""
    log_examples: int = 10
    """Number of aligned sentences logged at INFO after alignment."""
    kg: KgConfig = field(default_factory=KgConfig)
    """Reading the KG: label predicates, languages (best first; the first is the documents' language),
    the longest line of a line-oriented KG or document file."""
    fields: FieldMap = DEFAULT_FIELDS
    """Which fields of a JSONL/JSON/Parquet document record hold its text, id, title, subject and links."""
    aligner: AlignerConfig = field(default_factory=AlignerConfig)
    """Cleaning, sentence splitting, linking and alignment."""
    tokenizer: TokenizerChoice = field(default_factory=TokenizerChoice)
    tasks: TasksConfig = field(default_factory=TasksConfig)
    """The five task builders; ``tasks.seed`` seeds every random choice (with the document id)."""
    rejections: RejectionPolicy = field(default_factory=RejectionPolicy)

    def __post_init__(self) -> None:
        if not self.kg_paths and not self.kg_index:
            raise ValueError("kg must name at least one input path (or kg_index a KG index)")
        if not self.doc_paths:
            raise ValueError("docs must name at least one input path")
        if not self.out:
            raise ValueError("out must be a path")
        if self.num_shards <= 0:
            raise ValueError(f"num_shards must be positive, got {self.num_shards}")
        if not 0.0 <= self.valid_fraction < 1.0:
            raise ValueError(f"valid_fraction must be in [0, 1), got {self.valid_fraction}")
        if self.sd_docs_per_bucket <= 1:
            raise ValueError(f"sd_docs_per_bucket must be > 1, got {self.sd_docs_per_bucket}")
        if self.max_doc_bytes <= 0:
            raise ValueError(f"max_doc_bytes must be > 0, got {self.max_doc_bytes}")
        if self.log_examples < 0:
            raise ValueError(f"log_examples must be >= 0, got {self.log_examples}")
        if not isinstance(self.lexicon_linking, LexiconLinking):
            raise ValueError(f"lexicon_linking must be a LexiconLinking, got {self.lexicon_linking!r}")
        # One flag sets each of these in two components; two values would make the manifest's flags wrong.
        if self.kg.languages[0] != self.aligner.language:
            raise ValueError(
                f"kg.languages must start with the documents' language {self.aligner.language!r} "
                f"(aligner.language), got {self.kg.languages!r}"
            )
        if self.tokenizer.train.seed != self.tasks.seed:
            raise ValueError(
                f"tokenizer.train.seed ({self.tokenizer.train.seed}) and tasks.seed ({self.tasks.seed}) "
                "must be the one seed of the build"
            )

    @classmethod
    def from_flags(cls, **flags: Any) -> BuildConfig:
        """The config of ``build-corpus``'s flags (snake_case names, as :meth:`flags` returns them);
        ValueError naming the first bad value. Flags left out keep their defaults."""
        unknown = sorted(set(flags) - set(FLAG_DEFAULTS) - {"kg", "docs", "out"})
        if unknown:
            raise ValueError(f"unknown build flags: {', '.join(unknown)}")
        for name in ("kg", "docs"):
            if isinstance(flags.get(name), str):
                raise ValueError(f"{name} must be a list of paths, not the string {flags[name]!r}")
        f = {**FLAG_DEFAULTS, **flags}
        for name, default in FLAG_DEFAULTS.items():
            if isinstance(default, int) and not isinstance(default, bool) and isinstance(f[name], bool):
                raise ValueError(f"{name} must be a number, got {f[name]!r}")
        language, seed = f["language"], f["seed"]
        train = dataclasses.replace(_build_tokenizer_config(), vocab_size=f["vocab_size"], seed=seed)
        return cls(
            kg_paths=tuple(f.get("kg", ())),
            doc_paths=tuple(f.get("docs", ())),
            out=f.get("out", ""),
            overwrite=f["overwrite"],
            kg_index=f["kg_index"],
            num_shards=f["num_shards"],
            valid_fraction=f["valid_fraction"],
            lexicon_linking=LexiconLinking(f["lexicon_linking"]),
            max_doc_bytes=f["max_doc_bytes"],
            sd_docs_per_bucket=f["sd_docs_per_bucket"],
            log_examples=f["log_examples"],
            kg=KgConfig(languages=(language, ""), max_line_bytes=f["max_line_bytes"]),
            fields=FieldMap(
                text=f["text_field"],
                id=f["id_field"],
                title=f["title_field"],
                subject=f["subject_field"],
                links=f["links_field"],
                entity_prefix=f["entity_prefix"],
            ),
            aligner=AlignerConfig(
                language=language,
                spacy_model=f["spacy_model"],
                min_sentence_words=f["min_sentence_words"],
                min_mention_confidence=f["min_mention_confidence"],
                max_candidates_per_name=f["max_candidates_per_name"],
            ),
            tokenizer=TokenizerChoice(
                train=train, sample_sentences=f["tokenizer_sample_sentences"], given=f["tokenizer"]
            ),
            tasks=TasksConfig(seed=seed),
            rejections=RejectionPolicy(strict=f["strict"], max_rejected_fraction=f["max_rejected_fraction"]),
        )

    def flags(self) -> dict[str, Any]:
        """The flags' values of this config, snake_case, in the order the manifest has always listed them
        (``from_flags(**config.flags())`` gives back a config made by :meth:`from_flags`)."""
        return {
            "kg": list(self.kg_paths),
            "docs": list(self.doc_paths),
            "out": self.out,
            "overwrite": self.overwrite,
            "kg_index": self.kg_index,
            "num_shards": self.num_shards,
            "valid_fraction": self.valid_fraction,
            "seed": self.tasks.seed,
            "language": self.aligner.language,
            "spacy_model": self.aligner.spacy_model,
            "min_sentence_words": self.aligner.min_sentence_words,
            "min_mention_confidence": self.aligner.min_mention_confidence,
            "vocab_size": self.tokenizer.train.vocab_size,
            "tokenizer_sample_sentences": self.tokenizer.sample_sentences,
            "tokenizer": self.tokenizer.given,
            "sd_docs_per_bucket": self.sd_docs_per_bucket,
            "log_examples": self.log_examples,
            "max_line_bytes": self.kg.max_line_bytes,
            "max_doc_bytes": self.max_doc_bytes,
            "lexicon_linking": self.lexicon_linking,
            "max_candidates_per_name": self.aligner.max_candidates_per_name,
            "strict": self.rejections.strict,
            "max_rejected_fraction": self.rejections.max_rejected_fraction,
            "text_field": self.fields.text,
            "id_field": self.fields.id,
            "title_field": self.fields.title,
            "subject_field": self.fields.subject,
            "links_field": self.fields.links,
            "entity_prefix": self.fields.entity_prefix,
        }


_PLACEHOLDER = ("-",)
FLAG_DEFAULTS: dict[str, Any] = {
    name: value
    for name, value in BuildConfig(kg_paths=_PLACEHOLDER, doc_paths=_PLACEHOLDER, out="-").flags().items()
    if name not in ("kg", "docs", "out")
}
"""Every flag's default (``--num-shards`` is ``num_shards``; ``--kg``, ``--docs``, ``--out`` have none), read
from a default config: the defaults live in the component configs, not restated here."""
