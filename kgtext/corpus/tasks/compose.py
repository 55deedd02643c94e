"""One document -> every row of the five tasks, and the deterministic draw of its sentence-distance negatives.

Pure composition of the builders (:mod:`kgtext.corpus.tasks.kmlm` ... :mod:`kgtext.corpus.tasks.dlm`) in the order the
corpus stores them: for each sentence its KMLM row then its UKTP rows, then the document's SR, SD and DLM
rows. Both the Beam pipeline (:mod:`kgtext.pipelines.tasks`) and the trainer's test fixture call it, so the two
cannot drift apart.

Negatives for sentence distance come from one *donor* document, drawn by :func:`draw_negative` with a
generator seeded by (seed, document id, :data:`SD_SALT`) among the candidate donors the caller offers (the
pipeline offers the documents of the next hash bucket); a document never donates to itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from kgtext.corpus.records import AlignedDocument
from kgtext.corpus.tasks.config import TasksConfig, task_rng
from kgtext.corpus.tasks.dlm import build_dlm_counted
from kgtext.corpus.tasks.kmlm import build_kmlm_counted
from kgtext.corpus.tasks.rows import Built
from kgtext.corpus.tasks.sd import build_sd_counted
from kgtext.corpus.tasks.sr import build_sr_counted
from kgtext.corpus.tasks.task import Task, stat_key
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.corpus.tasks.uktp import build_uktp_counted

SD_SALT = "sd-negatives"
"""Salt of the donor draw (and of the pipeline's donor buckets)."""

Donor = tuple[str, Sequence[str]]
"""A candidate donor: ``(document id, its non-blank sentence texts)``."""


class Negatives(NamedTuple):
    """The sentence-distance negatives of one document: the donor's sentences and, per sentence, its id."""

    texts: tuple[str, ...]
    doc_ids: tuple[str, ...]


NO_NEGATIVES = Negatives((), ())


class ComposedTasks(NamedTuple):
    """Every task row of one document in storage order, and the builders' outcome counts."""

    rows: tuple[tuple[Task, Any], ...]
    counts: dict[str, int]
    """Stat key (:func:`kgtext.corpus.tasks.task.stat_key`) -> count."""


def draw_negative(doc_id: str, donors: Sequence[Donor], seed: int) -> Negatives:
    """One donor's sentences for ``doc_id``, uniform among ``donors`` other than itself and not empty.

    ``donors`` must come in a fixed order (the pipeline sorts them by id once per bucket): the draw is an
    index into that order.
    """
    choices = [(d_id, tuple(texts)) for d_id, texts in donors if d_id != doc_id and texts]
    if not choices:
        return NO_NEGATIVES
    donor_id, texts = choices[int(task_rng(seed, doc_id, SD_SALT).integers(len(choices)))]
    return Negatives(texts, (donor_id,) * len(texts))


def compose_document(
    doc: AlignedDocument,
    labels: Mapping[str, str],
    negatives: Negatives,
    tok: Tokenizer,
    config: TasksConfig,
) -> ComposedTasks:
    """The rows of the five tasks for ``doc`` (``labels``: IRI -> display label, for UKTP), with counts."""
    rows: list[tuple[Task, Any]] = []
    counts: dict[str, int] = {}

    def add(task: Task, built: Built) -> None:
        rows.extend((task, row) for row in built.rows)
        for outcome, n in built.counts.items():
            key = stat_key(task, outcome)
            counts[key] = counts.get(key, 0) + n

    for sentence in doc.sentences:
        add(Task.KMLM, build_kmlm_counted(sentence, tok, config.kmlm))
        add(Task.UKTP, build_uktp_counted(sentence, labels, tok, config.uktp))
    add(Task.SR, build_sr_counted(doc, tok, config.sr, seed=config.seed))
    add(
        Task.SD,
        build_sd_counted(
            doc, negatives.texts, tok, config.sd, seed=config.seed, negative_doc_ids=negatives.doc_ids
        ),
    )
    add(Task.DLM, build_dlm_counted(doc, tok, config.dlm))
    return ComposedTasks(tuple(rows), counts)
