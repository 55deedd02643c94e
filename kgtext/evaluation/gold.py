"""Gold alignment sets (WebNLG, REBEL, Re-DocRED, FewRel) -> :class:`EvalDoc` records for ``align-eval``.

Each loader turns one public dataset into documents, a per-document KG (candidate entity names, triples,
relation names) and gold mentions / gold triple-sentence pairs, all as character offsets into the raw
document text. The datasets are read from ``--data-dir`` (``../shared/data`` by default); nothing here
runs at corpus-build time.
"""

from __future__ import annotations

import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from kgtext.aligners.documents import WIKIDATA_ENTITY, read_documents
from kgtext.aligners.records import Document, Link
from kgtext.kg.config import KgConfig
from kgtext.kg.lexicon import names_from_iri, resolve_names
from kgtext.kg.literals import literal_term
from kgtext.kg.ntriples import parse_ntriples_line
from kgtext.kg.records import LexiconEntry, Names, Triple
from kgtext.kg.relations import wikidata_property_names

logger = logging.getLogger(__name__)

XSD = "http://www.w3.org/2001/XMLSchema#"
DBR = "http://dbpedia.org/resource/"
DBP = "http://dbpedia.org/property/"
WDT = "http://www.wikidata.org/prop/direct/"


class GoldMention(NamedTuple):
    start: int
    end: int
    entity: str
    kind: str
    """Dataset category: ``name``, ``pronoun``, ``link``, ``date``, ``number``, ..."""


class GoldPair(NamedTuple):
    """A triple expressed by a sentence: the sentence is gold index ``sentence`` or contains ``anchor``."""

    sentence: int
    anchor: int
    triple: tuple[str, str, str]
    """(head, relation, tail key); a literal tail as its N-Triples term."""


class EvalDoc(NamedTuple):
    doc: Document
    entities: tuple[Names, ...]
    triples: tuple[Triple, ...]
    relations: tuple[Names, ...]
    mentions: tuple[GoldMention, ...]
    pairs: tuple[GoldPair, ...]
    gold_sentences: int
    """Number of gold sentences when ``GoldPair.sentence`` is used (-1 when anchors are)."""


def tail_key(triple: Triple) -> str:
    """The mention key of a triple's tail (IRI, or literal term)."""
    if triple.tail_is_literal:
        return literal_term(triple.tail, triple.datatype, triple.lang)
    return triple.tail


def literal_keys(items: Iterable[EvalDoc]) -> dict[str, str]:
    """A literal tail's lexical form -> its mention key (:func:`tail_key`), over the triples of ``items``
    (the first triple's key when several share a form)."""
    keys: dict[str, str] = {}
    for item in items:
        for t in item.triples:
            if t.tail_is_literal:
                keys.setdefault(t.tail, tail_key(t))
    return keys


# --- WebNLG ---------------------------------------------------------------------------------------
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _webnlg_object(raw: str) -> tuple[str, bool, str]:
    """(value, is_literal, datatype) of a WebNLG object: quoted strings and bare numbers are literals, typed
    as ``xsd:date`` / ``xsd:integer`` / ``xsd:decimal`` when their lexical form is one."""
    raw = raw.strip()
    quoted = raw.startswith('"') and raw.endswith('"') and len(raw) >= 2
    if not quoted and not _INTEGER.match(raw) and not _DECIMAL.match(raw):
        return DBR + raw, False, ""
    # Quoted values are literals; so are bare numbers ("1121.0", "16000"), which DBpedia types as numbers.
    lexical = raw[1:-1].strip() if quoted else raw
    if _ISO_DATE.match(lexical):
        return lexical, True, XSD + "date"
    if _INTEGER.match(lexical):
        return lexical, True, XSD + "integer"
    if _DECIMAL.match(lexical):
        return lexical, True, XSD + "decimal"
    return lexical, True, ""


def _webnlg_triple(text: str) -> Triple:
    head, relation, tail = (part.strip() for part in text.split(" | "))
    value, is_literal, datatype = _webnlg_object(tail)
    return Triple(DBR + head, DBP + relation.replace(" ", "_"), value, is_literal, datatype, "")


def _untokenise(text: str) -> str:
    """Undo NLTK spacing in a WebNLG reference string."""
    text = re.sub(r" ([,.;:!?)'%])", r"\1", text)
    return re.sub(r"([($]) ", r"\1", text).replace(" 's", "'s").replace("`` ", '"').replace(" ''", '"')


_ARTICLE = re.compile(r"^(?:the|a|an) ", re.IGNORECASE)


def _trim_reference(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a leading article and a trailing possessive from a reference: they are not part of a name."""
    article = _ARTICLE.match(text[start:end])
    if article and end - start > article.end():
        start += article.end()
    if text[start:end].endswith(("'s", "’s")) and end - start > 2:
        end -= 2
    return start, end


def _webnlg_entry(entry: ET.Element, file: str) -> Iterator[EvalDoc]:
    triples = tuple(_webnlg_triple(t.text or "") for t in entry.iter("mtriple"))
    heads = Counter(t.head for t in triples)
    subject = heads.most_common(1)[0][0] if heads else ""
    iris = dict.fromkeys([*(t.head for t in triples), *(t.tail for t in triples if not t.tail_is_literal)])
    entities = tuple(names_from_iri(iri) for iri in iris)
    relations = tuple(
        Names(r, " ".join(_CAMEL.sub(" ", r[len(DBP) :].replace("_", " ")).lower().split()), ())
        for r in dict.fromkeys(t.relation for t in triples)
    )
    keys = {f'"{t.tail}"': tail_key(t) for t in triples if t.tail_is_literal}
    keys.update({t.tail: tail_key(t) for t in triples if t.tail_is_literal and t.datatype})
    for lex in entry.iter("lex"):
        text = (lex.findtext("text") or "").strip()
        if not text:
            continue
        mentions: list[GoldMention] = []
        pos = 0
        for ref in lex.iter("reference"):
            surface = _untokenise(ref.text or "")
            entity = ref.get("entity", "")
            at = text.find(surface, pos)
            at = text.find(surface) if at < 0 else at
            if at < 0 or not surface:
                continue
            pos = at + len(surface)
            start, end = _trim_reference(text, at, at + len(surface))
            mentions.append(GoldMention(start, end, keys.get(entity, DBR + entity), ref.get("type", "")))
        pairs = []
        sentences = list(lex.iter("sentence"))
        for s_index, sent in enumerate(sentences):
            for st in sent.iter("striple"):
                t = _webnlg_triple(st.text or "")
                pairs.append(GoldPair(s_index, -1, (t.head, t.relation, tail_key(t))))
        doc_id = f"{entry.get('category')}-{entry.get('eid')}-{lex.get('lid')}-{entry.get('size')}"
        doc = Document(doc_id, text, "", subject, (), file, -1)
        yield EvalDoc(doc, entities, triples, relations, tuple(mentions), tuple(pairs), len(sentences))


def load_webnlg(data_dir: str) -> list[EvalDoc]:
    """WebNLG (enriched v1.6, dev): one document per text; the KG is the entry's modified triple set."""
    root = os.path.join(data_dir, "webnlg_enriched_v1.6_en", "dev")
    docs: list[EvalDoc] = []
    for size in sorted(os.listdir(root)):
        for name in sorted(os.listdir(os.path.join(root, size))):
            path = os.path.join(root, size, name)
            for entry in ET.parse(path).getroot().iter("entry"):
                docs.extend(_webnlg_entry(entry, path))
    return docs


# --- REBEL -----------------------------------------------------------------------------------------
def _load_kg(path: str) -> tuple[list[Triple], dict[str, list[LexiconEntry]]]:
    config = KgConfig()
    triples: list[Triple] = []
    lexicon: dict[str, list[LexiconEntry]] = defaultdict(list)
    with open(path, "rb") as handle:
        for line_no, line in enumerate(handle, start=1):
            record = parse_ntriples_line(line, file=path, line_no=line_no, config=config, allow_graph=False)
            if isinstance(record, Triple):
                triples.append(record)
            elif isinstance(record, LexiconEntry):
                lexicon[record.iri].append(record)
    return triples, lexicon


def _rebel_literal(uri: str) -> tuple[str, str]:
    lexical, _, datatype = uri.partition("^^")
    return lexical, datatype


def _rebel_gold(obj: dict[str, Any], text: str) -> tuple[list[GoldMention], list[GoldPair]]:
    mentions: list[GoldMention] = []
    kinds = {"Me": "link", "Date_Linker": "date", "Value_Linker": "number"}
    for ent in obj.get("entities") or []:
        kind = kinds.get(ent.get("annotator"), "")
        start, end = ent["boundaries"]
        surface = ent.get("surfaceform") or ""
        if text[start:end] != surface and surface in text:
            start = min(
                (m.start() for m in re.finditer(re.escape(surface), text)), key=lambda p: abs(p - start)
            )
            end = start + len(surface)
        uri = str(ent.get("uri"))
        if kind in ("date", "number"):
            entity = literal_term(*_rebel_literal(uri), "")
        elif uri != "None":
            entity = WIKIDATA_ENTITY + uri
        else:
            continue
        mentions.append(GoldMention(start, end, entity, kind))
    by_span = {(m.entity, m.kind == "link"): m.start for m in mentions}
    pairs: list[GoldPair] = []
    for tr in obj.get("triples") or []:
        sub, pred, ob = tr["subject"], tr["predicate"], tr["object"]
        if "^^" in str(ob["uri"]):
            tail = literal_term(*_rebel_literal(ob["uri"]), "")
        else:
            tail = WIKIDATA_ENTITY + ob["uri"]
        anchor = by_span.get((tail, not tail.startswith('"')), -1)
        for m in mentions:
            if m.entity == tail and m.start <= ob["boundaries"][0] + 6 and ob["boundaries"][0] - 6 <= m.start:
                anchor = m.start
        key = (WIKIDATA_ENTITY + sub["uri"], WDT + pred["uri"], tail)
        pairs.append(GoldPair(-1, anchor, key))
    return mentions, pairs


def load_rebel(data_dir: str) -> list[EvalDoc]:
    """REBEL sample: hyperlinks as links, the KG from ``kg_statements.nt`` (subject + one-hop + linked heads)."""
    root = os.path.join(data_dir, "rebel_sample")
    triples, lexicon = _load_kg(os.path.join(root, "kg_statements.nt"))
    by_head: dict[str, list[Triple]] = defaultdict(list)
    for t in triples:
        by_head[t.head].append(t)
    languages = KgConfig().languages
    property_names = wikidata_property_names()
    names = {iri: resolve_names(iri, entries, languages) for iri, entries in lexicon.items()}
    raw = {}
    with open(os.path.join(root, "sample.jsonl"), encoding="utf-8") as handle:
        for line in handle:
            obj = json.loads(line)
            raw[str(obj["docid"])] = obj
    docs: list[EvalDoc] = []
    for doc in read_documents(os.path.join(root, "sample.jsonl")):
        if not isinstance(doc, Document):
            continue
        heads = dict.fromkeys([doc.subject, *(k.entity for k in doc.links)])
        doc_triples = tuple(dict.fromkeys(t for h in heads for t in by_head.get(h, ())))
        iris = dict.fromkeys([*heads, *(t.tail for t in doc_triples if not t.tail_is_literal)])
        entities = tuple(names.get(iri) or names_from_iri(iri) for iri in iris if iri)
        rels = tuple(
            property_names.get(r) or names.get(r) or names_from_iri(r)
            for r in dict.fromkeys(t.relation for t in doc_triples)
        )
        mentions, pairs = _rebel_gold(raw[doc.id], doc.text)
        # Dates and numbers the KG does not hold cannot be found by a KG aligner: score them apart.
        tails = {tail_key(t) for t in doc_triples if t.tail_is_literal}
        mentions = [
            m if m.kind == "link" or m.entity in tails else m._replace(kind=m.kind + " (not in KG)")
            for m in mentions
        ]
        docs.append(EvalDoc(doc, entities, doc_triples, rels, tuple(mentions), tuple(pairs), -1))
    return docs


# --- Re-DocRED --------------------------------------------------------------------------------------
_NO_SPACE_BEFORE = frozenset({",", ".", ";", ":", ")", "'s", "%", "?", "!", "'", "n't"})


def _detokenise(sents: list[list[str]]) -> tuple[str, list[list[tuple[int, int]]]]:
    """Join DocRED tokens into raw-looking text; return it and each token's character span."""
    text = ""
    spans: list[list[tuple[int, int]]] = []
    for sent in sents:
        spans.append([])
        previous = ""
        for token in sent:
            if text and token not in _NO_SPACE_BEFORE and previous != "(":
                text += " "
            spans[-1].append((len(text), len(text) + len(token)))
            text += token
            previous = token
    return text, spans


def _redocred_doc(index: int, raw: dict[str, Any], file: str) -> EvalDoc:
    text, spans = _detokenise(raw["sents"])
    iris = [f"urn:redocred:dev:{index}:{e}" for e in range(len(raw["vertexSet"]))]
    entities, mentions, where = [], [], defaultdict(list)
    for iri, cluster in zip(iris, raw["vertexSet"], strict=True):
        counts = Counter(m["name"] for m in cluster)
        label = counts.most_common(1)[0][0]
        entities.append(Names(iri, label, tuple(n for n in counts if n != label)))
        for m in cluster:
            start, end = spans[m["sent_id"]][m["pos"][0]][0], spans[m["sent_id"]][m["pos"][1] - 1][1]
            mentions.append(GoldMention(start, end, iri, "name"))
            where[iri].append((m["sent_id"], start))
    title = raw.get("title", "")
    subject = next((iri for iri, n in zip(iris, entities, strict=True) if n.label == title), "")
    property_names = wikidata_property_names()
    triples, pairs = [], []
    for lab in raw.get("labels", []):
        h, t = iris[lab["h"]], iris[lab["t"]]
        triples.append(Triple(h, WDT + lab["r"], t, False, "", ""))
        head_sents = {s for s, _ in where[h]}
        for sent_id, start in where[t]:
            if sent_id in head_sents:
                pairs.append(GoldPair(-1, start, (h, WDT + lab["r"], t)))
    rels = tuple(
        property_names.get(r) or names_from_iri(r) for r in dict.fromkeys(t.relation for t in triples)
    )
    doc = Document(f"redocred-dev-{index}", text, title, subject, (), file, index + 1)
    return EvalDoc(
        doc,
        tuple(entities),
        tuple(dict.fromkeys(triples)),
        rels,
        tuple(mentions),
        tuple(dict.fromkeys(pairs)),
        -1,
    )


def load_redocred(data_dir: str) -> list[EvalDoc]:
    """Re-DocRED dev: entities and facts are document-local (minted IRIs, names from the mentions)."""
    path = os.path.join(data_dir, "redocred_dev", "dev_revised.json")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return [_redocred_doc(i, raw, path) for i, raw in enumerate(data)]


# --- FewRel ----------------------------------------------------------------------------------------
def _fewrel_doc(index: int, pid: str, raw: dict[str, Any], file: str, relation: Names) -> EvalDoc:
    text, [spans] = _detokenise([raw["tokens"]])
    entities: list[Names] = []
    mentions: list[GoldMention] = []
    first: dict[str, int] = {}
    for role in ("h", "t"):
        surface, qid, occurrences = raw[role]
        iri = WIKIDATA_ENTITY + qid
        # FewRel gives only the lower-cased surface form as a name: a lower-case name matches in any case.
        entities.append(Names(iri, surface, ()))
        for tokens in occurrences:
            start, end = spans[tokens[0]][0], spans[tokens[-1]][1]
            mentions.append(GoldMention(start, end, iri, "name"))
            first.setdefault(role, start)
    head, tail = entities[0].iri, entities[1].iri
    triple = Triple(head, WDT + pid, tail, False, "", "")
    doc = Document(f"fewrel-val-{index}", text, "", "", (), file, index + 1)
    pair = GoldPair(-1, first["t"], (head, WDT + pid, tail))
    return EvalDoc(doc, tuple(entities), (triple,), (relation,), tuple(mentions), (pair,), -1)


def load_fewrel(data_dir: str) -> list[EvalDoc]:
    """FewRel val: one sentence per document, its head and tail as the candidates, the gold relation as KG."""
    root = os.path.join(data_dir, "fewrel_val")
    path = os.path.join(root, "val_wiki.json")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    with open(os.path.join(root, "pid2name.json"), encoding="utf-8") as handle:
        pid_names = json.load(handle)
    property_names = wikidata_property_names()
    docs: list[EvalDoc] = []
    for pid in sorted(data):
        relation = property_names.get(WDT + pid) or Names(WDT + pid, pid_names.get(pid, [pid])[0], ())
        for raw in data[pid]:
            docs.append(_fewrel_doc(len(docs), pid, raw, path, relation))
    return docs


def link_free(doc: Document) -> Document:
    """The document without its links (to score name matching on hyperlink spans)."""
    return doc._replace(links=(), link_drops=())


__all__ = [
    "EvalDoc",
    "GoldMention",
    "GoldPair",
    "Link",
    "load_rebel",
    "load_redocred",
    "load_webnlg",
    "link_free",
    "tail_key",
]
