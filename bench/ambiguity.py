"""Label-sharing replicas of Re-DocRED: the same documents with 1, 8 or 32 KG entities per name.

Issue 29's protocol. Re-DocRED dev (500 documents, plain text) and its KG with one node per (document,
name) are copied ``replicas`` times. Replica ``r`` gets fresh document ids and IRIs (``...:r{r}``) and one
word-level rewrite: every word of an entity name (label or alias) gets the replica's tag, in the names and
in the text alike (replica 0 keeps its words). Relation names are never rewritten.

- ``ways=1``: each entity carries its own replica's names only: every name names one entity (as in the
  source data), so the documents are the same as below but nothing is ambiguous across replicas;
- ``ways=replicas``: each entity also carries the other replicas' variants of its names as aliases, so
  every name is shared by ``replicas`` entities with the same facts shape but different IRIs.

The texts are byte-identical between the two, so the phase-1 time per document measures what the
ambiguity costs. Reads ``../shared/data`` (a benchmark).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from kgtext.evaluation.align_eval import _remap_redocred, kg_lines
from kgtext.evaluation.gold import EvalDoc, load_redocred
from kgtext.kg.records import Names, Triple

WORD = re.compile(r"[^\W\d_]{2,}")
"""A word the rewrite may tag: two or more letters (digits, punctuation and one-letter words stay)."""


class Replicas(NamedTuple):
    kg: str
    docs: str
    documents: int
    replicas: int
    ways: int


def _tag(replica: int) -> str:
    """Replica 0: no tag; then ``qa``, ``qb``, ... (letters, so a tagged word is still one word)."""
    if replica == 0:
        return ""
    letters = ""
    n = replica
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return "q" + letters


def _rewrite(text: str, words: frozenset[str], tag: str) -> str:
    if not tag:
        return text
    return WORD.sub(lambda m: m.group(0) + tag if m.group(0) in words else m.group(0), text)


def _iri(iri: str, replica: int) -> str:
    return f"{iri}:r{replica}"


def make_replicas(data_dir: str, work: Path, *, replicas: int, ways: int, documents: int = 500) -> Replicas:
    """Write ``kg.nt`` and ``docs.jsonl`` under ``work`` (see the module docstring); ``ways`` is 1 or
    ``replicas``; the first ``documents`` Re-DocRED dev documents are replicated."""
    if ways not in (1, replicas):
        raise ValueError(f"ways must be 1 or replicas ({replicas}), got {ways}")
    items, names = _remap_redocred(load_redocred(data_dir)[:documents], merged=False)
    relation_words = {
        w for item in items for r in item.relations for n in (r.label, *r.aliases) for w in WORD.findall(n)
    }
    words = (
        frozenset(w for entry in names for n in (entry.label, *entry.aliases) for w in WORD.findall(n))
        - relation_words
    )
    triples: list[Triple] = []
    all_names: list[Names] = []
    doc_lines: list[str] = []
    relations = {r.iri: r for item in items for r in item.relations}
    base_triples = list(dict.fromkeys(t for item in items for t in item.triples))
    for replica in range(replicas):
        tag = _tag(replica)
        triples += [
            t._replace(
                head=_iri(t.head, replica), tail=t.tail if t.tail_is_literal else _iri(t.tail, replica)
            )
            for t in base_triples
        ]
        for entry in names:
            label = _rewrite(entry.label, words, tag)
            aliases = [_rewrite(a, words, tag) for a in entry.aliases]
            if ways > 1:
                for other in range(replicas):
                    if other != replica:
                        aliases += [_rewrite(n, words, _tag(other)) for n in (entry.label, *entry.aliases)]
            kept = tuple(dict.fromkeys(a for a in aliases if a != label))
            all_names.append(Names(_iri(entry.iri, replica), label, kept))
        doc_lines += [_doc_line(item, replica, words, tag) for item in items]
    work.mkdir(parents=True, exist_ok=True)
    kg = work / "kg.nt"
    kg.write_text(
        "".join(f"{line}\n" for line in kg_lines(triples, [*all_names, *relations.values()])), "utf-8"
    )
    docs = work / "docs.jsonl"
    docs.write_text("".join(f"{line}\n" for line in doc_lines), "utf-8")
    return Replicas(str(kg), str(docs), len(doc_lines), replicas, ways)


def _doc_line(item: EvalDoc, replica: int, words: frozenset[str], tag: str) -> str:
    return json.dumps(
        {"id": f"{item.doc.id}:r{replica}", "text": _rewrite(item.doc.text, words, tag)}, ensure_ascii=False
    )


def replica_of(iri_or_id: str) -> int | None:
    """The replica an IRI or document id of :func:`make_replicas` belongs to (None for a relation or literal)."""
    head, _, last = iri_or_id.rpartition(":r")
    return int(last) if head and last.isdigit() else None


def own_replica_share(rows: Iterable[dict[str, object]]) -> tuple[int, int]:
    """(aligned triples whose head and tail are the document's own replica's, aligned triples) over
    ``aligned/`` rows."""
    own = total = 0
    for row in rows:
        replica = replica_of(str(row["doc_id"]))
        for triple in row["triples"]:  # type: ignore[attr-defined]
            total += 1
            ends = [replica_of(triple["head"])]
            if not triple.get("tail_is_literal"):
                ends.append(replica_of(triple["tail"]))
            own += all(e == replica for e in ends)
    return own, total


__all__: Sequence[str] = ("Replicas", "make_replicas", "own_replica_share", "replica_of")
