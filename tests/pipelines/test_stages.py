"""The pure element functions of the stages, and one composite transform on TestPipeline."""

from __future__ import annotations

import io
import json
from pathlib import Path

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from kgtext.aligners.candidates import (
    AlignInput,
    NameGrant,
    NameRequest,
    SeedFacts,
    SeedRequest,
    assemble,
    grant_names,
    name_requests,
    relation_fallback,
    seed_requests,
)
from kgtext.aligners.records import CleanedDocument, Document, Link
from kgtext.common.dead_letters import DeadLetter
from kgtext.corpus.records import AlignedDocument, AlignedSentence
from kgtext.corpus.shard_writer import (
    DocRows,
    encode_doc_rows,
    encode_run,
    iter_run,
    merge_doc_rows,
    write_merged_runs,
)
from kgtext.corpus.shards import ROWS_PER_BATCH, encode_shard
from kgtext.kg.records import Names, Triple
from kgtext.pipelines.build_corpus import _part_files
from kgtext.pipelines.documents import keep_smallest_id, read_document_file, read_stats
from kgtext.pipelines.kg_index import FACTS, NAMES, BuildKgIndex, GatherFn, IndexFiles
from kgtext.pipelines.records import AlignedRecord
from kgtext.pipelines.tasks import draw_negatives, read_part
from kgtext.pipelines.writers import (
    SpillRuns,
    all_shard_keys,
    encode_part,
    sized_entry,
    write_dead_letters,
    write_part_list,
    write_shard,
)
from tests.tasks.fixture_data import redocred_documents

E = "http://example.org/redocred/entity/"
P = "http://www.wikidata.org/prop/direct/"
SCHNEIDER = E + "PER/Wilfried_%22Willi%22_Schneider"
MEDIAS = E + "LOC/Media%C8%99"
TRANSYLVANIA = E + "LOC/Transylvania"
TEXT = 'Wilfried "Willi" Schneider (born 13 March 1963 in Mediaș, Transylvania) is a German skeleton racer.'
DOC = CleanedDocument(
    "d0", "Willi Schneider", SCHNEIDER, (TEXT,), (Link(50, 56, MEDIAS), Link(0, 26, SCHNEIDER))
)
BORN_IN = Triple(SCHNEIDER, P + "P19", MEDIAS, False, "", "")
LOCATED_IN = Triple(MEDIAS, P + "P131", TRANSYLVANIA, False, "", "")


def test_seed_requests_are_distinct_links_and_the_subject() -> None:
    assert list(seed_requests(DOC)) == [
        (MEDIAS, SeedRequest("d0", False)),
        (SCHNEIDER, SeedRequest("d0", True)),
    ]


def test_name_requests_ask_for_relations_and_the_subjects_neighbours() -> None:
    facts = SeedFacts("d0", SCHNEIDER, True, None, (BORN_IN,))
    assert [(iri, r.role) for iri, r in name_requests(facts)] == [
        (MEDIAS, "neighbour"),
        (P + "P19", "relation"),
    ]
    linked = SeedFacts("d0", MEDIAS, False, None, (LOCATED_IN,))
    assert [(iri, r.role) for iri, r in name_requests(linked)] == [
        (TRANSYLVANIA, "tail"),
        (P + "P131", "relation"),
    ]


def test_unnamed_relations_fall_back_to_the_shipped_wikidata_table() -> None:
    grants = list(grant_names((P + "P19", {"requests": [NameRequest("d0", "relation")], "names": []})))
    assert [(g.names.iri, g.names.label) for g in grants] == [(P + "P19", "place of birth")]
    assert list(grant_names((MEDIAS, {"requests": [NameRequest("d0", "neighbour")], "names": []}))) == []


def test_assemble_collects_entities_triples_relations_and_labels() -> None:
    schneider = Names(SCHNEIDER, 'Wilfried "Willi" Schneider', ("Schneider",))
    medias = Names(MEDIAS, "Mediaș", ())
    born = Names(P + "P19", "place of birth", ("birthplace",))
    parts = {
        "doc": [DOC],
        "seeds": [
            SeedFacts("d0", SCHNEIDER, True, schneider, (BORN_IN,)),
            SeedFacts("d0", MEDIAS, False, None, ()),
        ],
        "grants": [NameGrant("d0", "neighbour", medias), NameGrant("d0", "relation", born)],
    }
    (joined,) = assemble(("d0", parts))
    assert joined == AlignInput(
        doc=DOC,
        entities=(medias, schneider),
        triples=(BORN_IN,),
        relations=(born,),
        labels=((MEDIAS, "Mediaș"), (SCHNEIDER, 'Wilfried "Willi" Schneider'), (P + "P19", "place of birth")),
    )


def test_kg_index_then_look_up_on_test_pipeline(tmp_path: Path) -> None:
    """Phase 0 writes the index (every shard, empty ones too); phase 1's GatherFn answers from it."""
    schneider = Names(SCHNEIDER, 'Wilfried "Willi" Schneider', ())
    medias = Names(MEDIAS, "Mediaș", ())
    born = Names(P + "P19", "place of birth", ())
    files = IndexFiles(str(tmp_path / "kg_index"), 3)
    with BeamTestPipeline(runner="DirectRunner") as p:
        triples = p | "Triples" >> beam.Create([BORN_IN, LOCATED_IN, BORN_IN])  # a duplicate too
        names = p | "Names" >> beam.Create([schneider, medias, born])
        written = triples | BuildKgIndex(names, files)
        assert_that(written, equal_to(files.paths(FACTS) + files.paths(NAMES)))
    with BeamTestPipeline(runner="DirectRunner") as p:
        joined = p | beam.Create([DOC]) | beam.ParDo(GatherFn(files, None))
        assert_that(
            joined,
            equal_to(
                [
                    AlignInput(
                        doc=DOC,
                        entities=(medias, schneider),
                        triples=(LOCATED_IN, BORN_IN),
                        relations=(relation_fallback(P + "P131"), born),  # P131: the shipped table
                        labels=(
                            (MEDIAS, "Mediaș"),
                            (SCHNEIDER, 'Wilfried "Willi" Schneider'),
                            (P + "P131", "located in the administrative territorial entity"),
                            (P + "P19", "place of birth"),
                        ),
                    )
                ]
            ),
        )


def test_dedup_keeps_the_smallest_document_id() -> None:
    a, b = DOC._replace(id="doc-b"), DOC._replace(id="doc-a")
    assert keep_smallest_id(("key", [a, b])) == (b, 1)


def test_read_document_file_dead_letters_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "notes.xml"
    path.write_text("<x/>")
    (letter,) = read_document_file(str(path))
    assert isinstance(letter, DeadLetter) and (letter.stage, letter.reason) == (
        "read_documents",
        "unknown_extension",
    )
    assert list(read_stats(letter)) == [("documents.rejected.unknown_extension", 1)]


def test_read_document_file_keeps_good_lines_beside_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    good = json.dumps({"id": "d1", "text": TEXT, "links": [{"start": 0, "end": 26, "entity": SCHNEIDER}]})
    path.write_bytes(b'{"id": "bad", "text": "caf\xe9"}\n' + good.encode() + b"\n{not json\n")
    items = list(read_document_file(str(path)))
    assert [type(i).__name__ for i in items] == ["DeadLetter", "Document", "DeadLetter"]
    assert [(i.reason, i.line) for i in items if isinstance(i, DeadLetter)] == [
        ("invalid_utf8", 1),
        ("invalid_json", 3),
    ]
    assert isinstance(items[1], Document) and items[1].links == (Link(0, 26, SCHNEIDER),)


def _record(doc_id: str, *texts: str) -> AlignedRecord:
    sentences = tuple(AlignedSentence(doc_id, 0, i, t, (), (), (), True) for i, t in enumerate(texts))
    return AlignedRecord(AlignedDocument(doc_id, "", "", sentences), ())


def test_negatives_come_from_another_document_deterministically() -> None:
    docs = [_record("a", "A one."), _record("b", "B one.", "B two."), _record("c", "C one.")]
    donors = [(r.doc.doc_id, tuple(s.text for s in r.doc.sentences)) for r in docs]
    first = list(draw_negatives((0, {"docs": docs, "donors": donors}), 0))
    again = list(draw_negatives((0, {"docs": list(reversed(docs)), "donors": list(reversed(donors))}), 0))
    assert first == again
    assert [x.record.doc.doc_id for x in first] == ["a", "b", "c"]
    for item in first:
        assert item.negative_doc_ids and item.record.doc.doc_id not in item.negative_doc_ids
    assert list(draw_negatives((0, {"docs": docs[:1], "donors": donors[:1]}), 0))[0].negatives == ()


def _run_file(tmp_path: Path, name: str, docs: list[DocRows]) -> str:
    path = tmp_path / "runs" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(encode_run(docs))
    return str(path)


def test_write_shard_merges_run_files_and_writes_empty_shards(tmp_path: Path) -> None:
    s0 = AlignedSentence("b", 0, 1, "Second.", (), (), (), True)
    s1 = AlignedSentence("a", 0, 0, "First.", (), (), (), True)
    runs = [
        _run_file(tmp_path, "1.run", [encode_doc_rows("aligned", "b", [s0])]),
        _run_file(tmp_path, "2.run", [encode_doc_rows("aligned", "a", [s1])]),
    ]
    written = write_shard(
        (("aligned", "train", 1), [runs[0], None, runs[1]]), str(tmp_path), str(tmp_path / "info"), 2
    )
    expected = encode_shard("aligned", [s1, s0])
    assert (tmp_path / written.path).read_bytes() == expected.data
    assert (written.path, written.rows, written.bytes, written.sha256) == (
        "aligned/train/part-00001-of-00002.arrow",
        2,
        len(expected.data),
        expected.sha256,
    )
    empty = write_shard((("sd", "valid", 0), [None]), str(tmp_path), str(tmp_path / "info"), 2)
    assert empty.rows == 0 and (tmp_path / empty.path).read_bytes() == encode_shard("sd", []).data
    assert len(all_shard_keys(["aligned", "sd"], 2)) == 8


def test_merging_runs_gives_the_in_memory_shard_bytes(tmp_path: Path) -> None:
    """Real Re-DocRED sentences (more than two record batches of rows) spread over three runs in arbitrary
    order: the streamed merge writes exactly what the in-memory reference writes."""
    docs, _ = redocred_documents()
    blobs = [  # 25 replicas under fresh ids: 2,575 rows
        encode_doc_rows(
            "aligned",
            f"{d.doc_id}#{r:02d}",
            [s._replace(doc_id=f"{d.doc_id}#{r:02d}") for s in d.sentences if s.passes_filter],
        )
        for r in range(25)
        for d in docs
        if any(s.passes_filter for s in d.sentences)
    ]
    assert sum(b.rows for b in blobs) > 2 * ROWS_PER_BATCH
    runs = [encode_run(blobs[i::3]) for i in (2, 0, 1)]
    out = io.BytesIO()
    merged = write_merged_runs("aligned", [iter_run(io.BytesIO(r)) for r in runs], out)
    reference = merge_doc_rows("aligned", blobs)
    assert out.getvalue() == reference.data
    assert (merged.rows, merged.size, merged.tokens, merged.sha256) == (
        reference.rows,
        len(reference.data),
        reference.tokens,
        reference.sha256,
    )


def test_spilling_writes_sorted_runs_per_shard_and_emits_only_names(tmp_path: Path) -> None:
    spill = SpillRuns(
        str(tmp_path / "runs"), encode_run, "run", spill_bytes=1
    )  # every document spills at once
    spill.start_bundle()
    s0 = AlignedSentence("b", 0, 1, "Second.", (), (), (), True)
    s1 = AlignedSentence("a", 0, 0, "First.", (), (), (), True)
    key = ("aligned", "train", 0)
    b, a = encode_doc_rows("aligned", "b", [s0]), encode_doc_rows("aligned", "a", [s1])
    emitted = list(spill.process((key, (b, len(b.data)))))
    emitted += list(spill.process((key, (a, len(a.data)))))
    # Each spill is its own run file, named when its first rows arrive.
    assert [k for k, _ in emitted] == [key, key] and emitted[0][1] != emitted[1][1]
    spill.finish_bundle()  # nothing left to write
    for (_, path), doc_id in zip(emitted, ["b", "a"], strict=True):
        with open(path, "rb") as handle:
            assert [d.doc_id for d in iter_run(handle)] == [doc_id]
    bundle = SpillRuns(
        str(tmp_path / "runs"), encode_run, "run"
    )  # 64 MiB: one run per shard, written at the end
    bundle.start_bundle()
    names = [
        n
        for d, s in (("b", s0), ("a", s1))
        for n in bundle.process((key, (encode_doc_rows("aligned", d, [s]), 1)))
    ]
    assert len(names) == 1 and not Path(names[0][1]).exists()
    bundle.finish_bundle()
    with open(names[0][1], "rb") as handle:
        assert [d.doc_id for d in iter_run(handle)] == ["a", "b"]  # sorted


def test_dead_letters_are_sorted_json_lines(tmp_path: Path) -> None:
    late = DeadLetter("read_kg", "b.nt", 3, -1, "bad_iri", "<x")
    early = DeadLetter("read_kg", "a.nt", 9, -1, "wrong_arity", "<a> <b> .")
    path = write_dead_letters(("read_kg", [late, early]), str(tmp_path))
    lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
    assert [(d["file"], d["line"], d["reason"]) for d in lines] == [
        ("a.nt", 9, "wrong_arity"),
        ("b.nt", 3, "bad_iri"),
    ]


def test_gzipped_jsonl_reads_like_plain_and_a_truncated_one_is_dead_lettered(tmp_path: Path) -> None:
    import gzip

    from tests.pipelines.conftest import REBEL

    raw = (REBEL / "docs.jsonl").read_bytes()
    (tmp_path / "docs.jsonl.gz").write_bytes(gzip.compress(raw))
    plain = list(read_document_file(str(REBEL / "docs.jsonl")))
    zipped = list(read_document_file(str(tmp_path / "docs.jsonl.gz")))
    assert [d.id for d in zipped] == [d.id for d in plain] and len(plain) == 8
    (tmp_path / "cut.jsonl.gz").write_bytes(gzip.compress(raw)[: len(gzip.compress(raw)) // 2])
    *kept, letter = read_document_file(str(tmp_path / "cut.jsonl.gz"))
    assert [d.id for d in kept] == [d.id for d in plain[: len(kept)]] and 0 < len(kept) < 8
    assert isinstance(letter, DeadLetter) and letter.reason == "truncated_compressed"
    assert letter.line == len(kept) + 1


def test_phase_two_reads_only_the_part_files_phase_one_committed(tmp_path: Path) -> None:
    record = _record("a", "A one.")
    key, (entry, _) = sized_entry(record)
    committed = tmp_path / f"part.{'0' * 32}.pkl"
    committed.write_bytes(encode_part([entry]))
    (tmp_path / f"part.{'1' * 32}.pkl").write_bytes(encode_part([entry]))  # a retried bundle's leftover
    write_part_list((key, [str(committed)]), str(tmp_path))
    assert _part_files(str(tmp_path)) == [str(committed)]
    assert [e[0] for e in read_part(str(committed))] == ["a"]
    assert _part_files(str(tmp_path / "none")) == []  # nothing aligned: no listing
