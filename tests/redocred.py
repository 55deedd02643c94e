"""Re-DocRED records -> ``kgtext.corpus.records.AlignedDocument``: the test-side stand-in for the aligner.

Shared by the task-builder and trainer tests. Entities are Re-DocRED mention clusters
(``urn:redocred:dev:{index}:{cluster}``), mentions have source ``label``, and a labelled fact becomes an
``allent`` triple of every sentence that mentions both its head and tail.
"""

from __future__ import annotations

from typing import Any

from kgtext.corpus.records import AlignedDocument, AlignedSentence, AlignedTriple, Mention

WDT = "http://www.wikidata.org/prop/direct/"
NO_SPACE_BEFORE = frozenset({",", ".", ";", ":", ")", "'s"})


def detokenize(
    tokens: list[str], no_space_before: frozenset[str] = NO_SPACE_BEFORE
) -> tuple[str, list[tuple[int, int]]]:
    """Re-DocRED tokens -> text and the character span of every token."""
    text, offsets = "", []
    for i, token in enumerate(tokens):
        if i and token not in no_space_before and tokens[i - 1] != "(":
            text += " "
        offsets.append((len(text), len(text) + len(token)))
        text += token
    return text, offsets


def redocred_document(
    raw: dict[str, Any],
    index: int,
    labels: dict[str, str],
    *,
    sentences_per_paragraph: int = 0,
    labelled_relations_only: bool = False,
    no_space_before: frozenset[str] = NO_SPACE_BEFORE,
) -> AlignedDocument:
    """One Re-DocRED record -> an aligned document; entity labels are added to ``labels``.

    ``sentences_per_paragraph`` > 0 groups sentences into paragraphs (Re-DocRED keeps none; 0 = one
    paragraph). ``labelled_relations_only`` keeps only triples whose relation has a label in ``labels``.
    Sentences of fewer than 5 tokens fail the filter.
    """
    doc_id = f"redocred-dev-{index}"
    iri = [f"urn:redocred:dev:{index}:{e}" for e in range(len(raw["vertexSet"]))]
    for e, cluster in enumerate(raw["vertexSet"]):
        labels[iri[e]] = cluster[0]["name"]
    sentences = []
    for k, tokens in enumerate(raw["sents"]):
        text, offsets = detokenize(tokens, no_space_before)
        mentions = sorted(
            Mention(offsets[m["pos"][0]][0], offsets[m["pos"][1] - 1][1], iri[e], "label")
            for e, cluster in enumerate(raw["vertexSet"])
            for m in cluster
            if m["sent_id"] == k
        )
        present = {m.entity for m in mentions}
        triples = tuple(
            AlignedTriple(iri[lab["h"]], WDT + lab["r"], iri[lab["t"]], False, "allent")
            for lab in raw["labels"]
            if iri[lab["h"]] in present
            and iri[lab["t"]] in present
            and (not labelled_relations_only or WDT + lab["r"] in labels)
        )
        paragraph = k // sentences_per_paragraph if sentences_per_paragraph else 0
        sentences.append(
            AlignedSentence(doc_id, paragraph, k, text, tuple(mentions), triples, (), len(tokens) >= 5)
        )
    return AlignedDocument(doc_id, raw["title"], "", tuple(sentences))
