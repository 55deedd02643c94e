"""The KG look-up files: typed Arrow columns only; a file of any other shape is refused, never unpickled."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from kgtext.aligners.kg_index import (
    IndexFormatError,
    KgIndex,
    encode_facts_shard,
    encode_names_shard,
    facts_value,
    names_value,
    shard_of,
)
from kgtext.aligners.lexicon_index import key_hash
from kgtext.kg.records import Names, Triple

WD = "http://www.wikidata.org/entity/"
P = "http://www.wikidata.org/prop/direct/"
XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"
# Wikidata facts of Tears for Fears (Q212490) as in the REBEL sample's KG.
TRIPLES = [
    Triple(WD + "Q212490", P + "P495", WD + "Q145", False, "", ""),
    Triple(WD + "Q212490", P + "P571", "1981-01-01", True, XSD_DATE, ""),
    Triple(WD + "Q145", P + "P36", WD + "Q84", False, "", ""),
]
NAMES = [
    Names(WD + "Q212490", "Tears for Fears", ("TFF",)),
    Names(WD + "Q145", "United Kingdom", ("UK", "Britain")),
]


def _write(tmp_path: Path, kind: str, shards: dict[int, bytes], count: int) -> list[str]:
    paths = []
    for shard in range(count):
        path = tmp_path / f"{kind}-{shard:05d}-of-{count:05d}.arrow"
        path.write_bytes(shards[shard])
        paths.append(str(path))
    return paths


def _index(tmp_path: Path, count: int = 2) -> KgIndex:
    facts: dict[int, dict[str, list[tuple[str, str, bool, str, str]]]] = {i: {} for i in range(count)}
    for t in TRIPLES:
        facts[shard_of(t.head, count)].setdefault(t.head, []).append(tuple(t[1:]))  # type: ignore[arg-type]
    names: dict[int, dict[str, tuple[str, tuple[str, ...]]]] = {i: {} for i in range(count)}
    for n in NAMES:
        names[shard_of(n.iri, count)][n.iri] = names_value([n])
    fact_files = {
        i: encode_facts_shard({k: facts_value(v) for k, v in facts[i].items()}) for i in range(count)
    }
    name_files = {i: encode_names_shard(names[i]) for i in range(count)}
    return KgIndex(_write(tmp_path, "facts", fact_files, count), _write(tmp_path, "names", name_files, count))


def test_facts_and_names_come_back_typed_and_sorted(tmp_path: Path) -> None:
    index = _index(tmp_path)
    assert index.facts([WD + "Q212490", WD + "Q84"]) == {WD + "Q212490": tuple(sorted(TRIPLES[:2]))}
    assert index.names([WD + "Q145", WD + "Q1"]) == {WD + "Q145": NAMES[1]}


def _pickle_shard(payload: bytes) -> bytes:
    """A shard in the old layout (a binary ``value`` column) whose value is a pickle naming a Python global."""
    table = pa.table(
        {
            "hash": pa.array([key_hash(WD + "Q212490")], pa.uint64()),
            "key": pa.array([WD + "Q212490"], pa.string()),
            "value": pa.array([payload], pa.binary()),
        }
    )
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def test_a_crafted_index_naming_a_python_global_is_refused_unread(tmp_path: Path) -> None:
    payload = pickle.dumps(print)  # a pickle that would call a global when loaded
    assert b"builtins" in payload
    facts = _write(tmp_path, "facts", {0: _pickle_shard(payload)}, 1)
    names = _write(tmp_path, "names", {0: encode_names_shard({})}, 1)
    with pytest.raises(
        IndexFormatError,
        match=r"facts-00000-of-00001.arrow: not a kgtext KG index file \(columns \['hash', 'key', 'value'\]\)",
    ):
        KgIndex(facts, names)


def test_a_file_that_is_not_arrow_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "facts-00000-of-00001.arrow"
    bad.write_bytes(b"not arrow at all")
    names = _write(tmp_path, "names", {0: encode_names_shard({})}, 1)
    with pytest.raises(IndexFormatError, match="not a readable Arrow file"):
        KgIndex([str(bad)], names)


def test_keys_sharing_a_hash_each_get_their_own_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 64-bit hash collision (forced: every key hashes to 7) leaves several rows per hash; each key still gets
    its own row, and a key the index lacks but whose hash it has gets none."""
    from kgtext.aligners import kg_index

    monkeypatch.setattr(kg_index, "key_hash", lambda key: 7)
    index = _index(tmp_path, count=1)
    assert index.facts([WD + "Q145", WD + "Q212490", WD + "Q84"]) == {
        WD + "Q145": (TRIPLES[2],),
        WD + "Q212490": (TRIPLES[0], TRIPLES[1]),
    }
    assert index.names([WD + "Q145", WD + "Q999"]) == {WD + "Q145": NAMES[1]}


def test_the_lexicon_reader_refuses_the_same_crafted_file(tmp_path: Path) -> None:
    """The surface-form index shares the opener: another schema is refused before a column is read."""
    from kgtext.aligners.lexicon_index import LexiconIndex

    forms = _write(tmp_path, "forms", {0: _pickle_shard(pickle.dumps(print))}, 1)
    with pytest.raises(IndexFormatError, match=r"forms-00000-of-00001.arrow: not a kgtext KG index file"):
        LexiconIndex(forms)
