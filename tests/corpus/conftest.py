"""A small corpus directory written through the shard writer, from a real Re-DocRED sentence.

The sentence and its entities come from data/sample/docs.jsonl (Re-DocRED dev, MIT; text from Wikipedia,
CC BY-SA; see data/sample/README.md). Task rows carry token ids only (no tokenizer) so these tests exercise
the container, not the builders.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kgtext.corpus.manifest import Manifest, ShardInfo, write_manifest
from kgtext.corpus.records import AlignedSentence, AlignedTriple, Mention, Span
from kgtext.corpus.sharding import shard_file_name
from kgtext.corpus.shards import encode_shard, write_local_atomic

SENTENCE = (
    'Wilfried "Willi" Schneider (born 13 March 1963 in Mediaș, Transylvania) is a German skeleton racer '
    "who competed from 1992 to 2002."
)
E = "http://example.org/redocred/entity/"
ROWS = [
    AlignedSentence(
        doc_id="redocred-dev-0000",
        paragraph_index=0,
        sentence_index=0,
        text=SENTENCE,
        mentions=(
            Mention(0, 26, f"{E}PER/Wilfried_%22Willi%22_Schneider", "link"),
            Mention(33, 46, '"1963-03-13"^^<http://www.w3.org/2001/XMLSchema#date>', "date"),
            Mention(50, 56, f"{E}LOC/Media%C8%99", "link"),
        ),
        triples=(
            AlignedTriple(
                f"{E}PER/Wilfried_%22Willi%22_Schneider",
                "http://www.wikidata.org/prop/direct/P19",
                f"{E}LOC/Media%C8%99",
                False,
                "allent",
            ),
        ),
        phrases=(Span(77, 99),),
        passes_filter=True,
    )
]
DLM_ROWS = [
    {
        "doc_id": "redocred-dev-0000",
        "position": 0,
        "input_ids": [2, 17, 45, 9, 3],
        "num_tokens": 5,
        "segment_index": 0,
    },
    {
        "doc_id": "redocred-dev-0001",
        "position": 0,
        "input_ids": [2, 8, 3],
        "num_tokens": 3,
        "segment_index": 0,
    },
]


def write_corpus(root: Path) -> Manifest:
    """Write aligned + dlm shards (1 train shard each) and the manifest; returns the manifest."""
    manifest = Manifest(build_config={"seed": 0}, split_rule={"valid_fraction": 0.0})
    for dataset, rows in (("aligned", ROWS), ("dlm", DLM_ROWS)):
        encoded = encode_shard(dataset, rows)
        rel = f"{dataset}/train/{shard_file_name(0, 1)}"
        write_local_atomic(root / rel, encoded.data)
        info = ShardInfo(
            path=rel, rows=encoded.rows, bytes=len(encoded.data), tokens=encoded.tokens, sha256=encoded.sha256
        )
        manifest.datasets[dataset] = {"train": [info]}
    manifest.statistics = {"documents.read": 2, "mentions.link": 2, "mentions.date": 1, "triples.allent": 1}
    write_manifest(root, manifest)
    return manifest


@pytest.fixture()
def corpus_dir(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    write_corpus(root)
    return root
