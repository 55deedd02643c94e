"""Loads the real fixtures of tests/fixtures/tasks into aligned records (test-side stand-in for the aligner)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from corpus.records import AlignedDocument, AlignedSentence, AlignedTriple, Mention

Docs = tuple[list["AlignedDocument"], dict[str, str]]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"
WDT = "http://www.wikidata.org/prop/direct/"
WD = "http://www.wikidata.org/entity/"
_NO_SPACE_BEFORE = {",", ".", ";", ":", ")", "'s"}


def detokenize(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Re-DocRED tokens -> text and the character span of every token."""
    text, offsets = "", []
    for i, token in enumerate(tokens):
        if i and token not in _NO_SPACE_BEFORE and tokens[i - 1] != "(":
            text += " "
        offsets.append((len(text), len(text) + len(token)))
        text += token
    return text, offsets


def relation_labels() -> dict[str, str]:
    """Wikidata property IRI -> English label, from the fixture TSV."""
    labels = {}
    for line in (FIXTURES / "wikidata_property_labels.tsv").read_text(encoding="utf-8").splitlines():
        iri, _, value = line.split("\t")
        labels[iri] = json.loads(value)
    return labels


def redocred_documents() -> tuple[list[AlignedDocument], dict[str, str]]:
    """The 12 Re-DocRED documents as aligned documents, and the IRI -> label map of their entities."""
    raw = json.loads((FIXTURES / "redocred_dev_first12.json").read_text(encoding="utf-8"))
    labels = relation_labels()
    docs = [redocred_document(d, i, labels) for i, d in enumerate(raw)]
    return docs, labels


def redocred_document(raw: dict, index: int, labels: dict[str, str]) -> AlignedDocument:
    """One Re-DocRED record -> an aligned document (entity labels are added to ``labels``)."""
    doc_id = f"redocred-dev-{index}"
    iri = [f"urn:redocred:dev:{index}:{e}" for e in range(len(raw["vertexSet"]))]
    for e, cluster in enumerate(raw["vertexSet"]):
        labels[iri[e]] = cluster[0]["name"]
    texts = [detokenize(tokens) for tokens in raw["sents"]]
    sentences = []
    for k, (text, offsets) in enumerate(texts):
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
            if iri[lab["h"]] in present and iri[lab["t"]] in present
        )
        words = len(raw["sents"][k])
        sentences.append(AlignedSentence(doc_id, 0, k, text, tuple(mentions), triples, (), words >= 5))
    return AlignedDocument(doc_id, raw["title"], "", tuple(sentences))


def rebel_sentences() -> list[AlignedSentence]:
    """Sentences of the REBEL fixture (split after . ! ? before a capital) with their linked mentions."""
    out = []
    for line in (FIXTURES / "rebel_sample_nonascii.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        text = rec["text"]
        spans = []
        for ent in rec["entities"]:
            start = _repair(text, ent["surfaceform"], ent["boundaries"][0])
            if start >= 0 and ent["annotator"] == "Me" and ent["uri"] != "None":
                spans.append((start, start + len(ent["surfaceform"]), WD + ent["uri"]))
        bounds = [0, *(m.end() for m in re.finditer(r"[.!?]\s+(?=[A-Z])", text)), len(text)]
        for k, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
            sent = text[a:b].rstrip()
            mentions = tuple(
                sorted(
                    Mention(s - a, e - a, iri, "link") for s, e, iri in spans if a <= s and e <= a + len(sent)
                )
            )
            out.append(AlignedSentence(rec["docid"], 0, k, sent, mentions, (), (), True))
    return out


def _repair(text: str, surface: str, start: int) -> int:
    """REBEL offsets drift by +2..+6: take the occurrence of ``surface`` nearest the given start."""
    if text[start : start + len(surface)] == surface:
        return start
    hits = [m.start() for m in re.finditer(re.escape(surface), text)]
    return min(hits, key=lambda h: abs(h - start)) if hits else -1


def all_sentence_texts() -> list[str]:
    """Every fixture sentence, Re-DocRED then REBEL (the tokenizer's training text in tests)."""
    docs, _ = redocred_documents()
    return [s.text for d in docs for s in d.sentences] + [s.text for s in rebel_sentences()]
