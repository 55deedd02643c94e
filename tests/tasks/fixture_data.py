"""Loads the real fixtures of tests/fixtures/tasks into aligned records (test-side stand-in for the aligner)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kgtext.corpus.records import AlignedDocument, AlignedSentence, Mention
from tests.redocred import redocred_document

Docs = tuple[list["AlignedDocument"], dict[str, str]]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tasks"
WD = "http://www.wikidata.org/entity/"


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
