# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""After the Beam phases: gather shard records and statistics, assemble the manifest, log examples, summarise."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from kgtext.common.jsonl import has_lone_surrogate
from kgtext.common.lines import IrregularFileError, open_regular, regular_file_problem
from kgtext.corpus.manifest import InputFile, Manifest, ShardInfo, TokenizerInfo
from kgtext.corpus.schemas import ALIGNED, DATASETS
from kgtext.corpus.sharding import SPLITS
from kgtext.corpus.stats import StatFamily, StatKey
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.pipelines.files import InputError, read_bytes
from kgtext.pipelines.records import ShardWritten
from kgtext.pipelines.writers import join_path

logger = logging.getLogger(__name__)

SPLIT_RULE = "blake2b-64(salt 'split', doc_id) % 10000 < round(valid_fraction * 10000) -> valid"
SHARD_RULE = "blake2b-64(salt 'shard', doc_id) % num_shards"


def read_json(path: str, default: Any) -> Any:
    """A JSON file through FileSystems, or ``default`` when it does not exist."""
    if not FileSystems.exists(path):
        return default
    return json.loads(read_bytes(path).decode("utf-8"))


def read_shard_records(info_dir: str) -> list[ShardWritten]:
    """The sidecar records the shard writer left (one per shard), sorted."""
    found = [m.path for r in FileSystems.match([join_path(info_dir, "*.json")]) for m in r.metadata_list]
    return sorted(ShardWritten(**json.loads(read_bytes(p).decode("utf-8"))) for p in found)


def check_input_files(files: Sequence[str], role: str) -> None:
    """Refuse, in one line naming it, an input a phase cannot read: a local path that is not a regular file
    (a FIFO would block the reader, and the hashing below, forever; ``/dev/zero`` never ends) or a file name
    that is not valid UTF-8 (Beam cannot encode it). Called before a phase reads its inputs; the build's
    planning step is the better place (before phase 0), see docs/PIPELINE.md."""
    for path in files:
        if has_lone_surrogate(path):
            shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise InputError(f"--{role} {shown}: the file name is not valid UTF-8; rename the file")
        problem = regular_file_problem(path) if "://" not in path else None
        if problem is not None:
            raise InputError(f"--{role} {problem}")


def file_sha256(path: str) -> tuple[int, str]:
    """(bytes, hex sha256) of a file, streamed (a local one opened only if it is a regular file)."""
    digest = hashlib.sha256()
    size = 0
    try:
        opened = (
            FileSystems.open(path, compression_type="uncompressed") if "://" in path else open_regular(path)
        )
    except IrregularFileError as err:
        raise InputError(str(err)) from None
    with opened as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def input_files(kg_files: Sequence[str], doc_files: Sequence[str]) -> list[InputFile]:
    """The manifest's record of every input: path, role, size and sha256 (re-read after the build)."""
    files = []
    for path in kg_files:
        size, sha = file_sha256(path)
        files.append(InputFile(path=path, role="kg", bytes=size, sha256=sha))
    for path in doc_files:
        size, sha = file_sha256(path)
        files.append(InputFile(path=path, role="docs", bytes=size, sha256=sha))
    return files


def tokenizer_info(tok: Tokenizer, rel_path: str) -> TokenizerInfo:
    specials = {tok.id_to_piece(i): i for i in sorted(tok.special_ids)}
    return TokenizerInfo(
        path=rel_path,
        vocab_size=tok.vocab_size,
        special_ids=specials,
        sha256=tok.sha256,
        first_normal_id=tok.first_normal_id,
    )


def assemble_manifest(
    *,
    build_config: Mapping[str, Any],
    inputs: list[InputFile],
    tokenizer: TokenizerInfo,
    valid_fraction: float,
    num_shards: int,
    shards: Sequence[ShardWritten],
    statistics: Mapping[str, int],
) -> Manifest:
    """The manifest of a finished build; raises ValueError if a shard of the fixed layout is missing."""
    datasets: dict[str, dict[str, list[ShardInfo]]] = {}
    stats = dict(statistics)
    by_key = {(s.dataset, s.split, s.shard): s for s in shards}
    for dataset in DATASETS:
        for split in SPLITS:
            infos = []
            for index in range(num_shards):
                s = by_key.get((dataset, split, index))
                if s is None:
                    raise ValueError(f"shard {index} of {dataset}/{split} was not written")
                infos.append(
                    ShardInfo(path=s.path, rows=s.rows, bytes=s.bytes, tokens=s.tokens, sha256=s.sha256)
                )
            datasets.setdefault(dataset, {})[split] = infos
            stats[StatFamily.ROWS.key(dataset, split)] = sum(i.rows for i in infos)
    return Manifest(
        build_config=dict(build_config),
        inputs=inputs,
        tokenizer=tokenizer,
        split_rule={
            "rule": SPLIT_RULE,
            "valid_fraction": valid_fraction,
            "shard_rule": SHARD_RULE,
            "num_shards": num_shards,
        },
        datasets=datasets,
        statistics=stats,
    )


def first_aligned_rows(root: str, shards: Sequence[ShardWritten], n: int) -> list[dict[str, Any]]:
    """The first ``n`` rows of the ``aligned/`` train shards (for the log)."""
    rows: list[dict[str, Any]] = []
    for shard in shards:
        if len(rows) >= n:
            break
        if shard.dataset == ALIGNED and shard.split == "train" and shard.rows:
            table = pa.ipc.open_stream(io.BytesIO(read_bytes(join_path(root, shard.path)))).read_all()
            rows += table.slice(0, n - len(rows)).to_pylist()
    return rows


def log_examples(rows: Sequence[Mapping[str, Any]]) -> None:
    """Log aligned sentences with their mentions and triples (cheapest data-bug detector)."""
    for row in rows:
        text = row["text"]
        mentions = ", ".join(
            f"[{text[m['start'] : m['end']]}]->{m['entity']} ({m['source']})" for m in row["mentions"]
        )
        triples = "; ".join(
            f"({t['head']}, {t['relation']}, {t['tail']}) {t['level']}" for t in row["triples"]
        )
        logger.info(
            "aligned %s#%d: %s\n    mentions: %s\n    triples: %s",
            row["doc_id"],
            row["sentence_index"],
            text,
            mentions or "-",
            triples or "-",
        )


def summary_table(manifest: Manifest, timings: Mapping[str, float]) -> str:
    """A plain-text table of rows/shards/bytes/tokens per dataset split, key statistics and stage times."""
    lines = [f"{'dataset':<8} {'split':<6} {'shards':>6} {'rows':>9} {'tokens':>11} {'bytes':>11}"]
    for dataset, splits in manifest.datasets.items():
        for split, infos in splits.items():
            lines.append(
                f"{dataset:<8} {split:<6} {len(infos):>6} {sum(i.rows for i in infos):>9} "
                f"{sum(i.tokens for i in infos):>11} {sum(i.bytes for i in infos):>11}"
            )
    stats = manifest.statistics
    keys: list[str] = [
        StatKey.KG_LINES_READ,
        StatKey.KG_TRIPLES,
        StatKey.KG_LEXICON_ENTRIES,
        StatKey.DOCUMENTS_READ,
        StatKey.DOCUMENTS_KEPT,
        StatKey.ALIGNED_SENTENCES,
        StatKey.ALIGNED_SENTENCES_SHORT,
        StatKey.ALIGNED_RELATION_MENTIONS,
    ]
    families = (
        StatFamily.DOCUMENTS_REJECTED,
        StatFamily.DOCUMENTS_DROPPED,
        StatFamily.KG_REJECTED,
        StatFamily.ALIGNED_MENTIONS,
        StatFamily.ALIGNED_TRIPLES,
        StatFamily.DEAD_LETTERS,
    )
    keys += sorted(k for k in stats if k.startswith(tuple(f.prefix for f in families)))
    lines.append("")
    lines += [f"{k:<40} {stats.get(k, 0):>10}" for k in keys]
    lines.append("")
    lines += [f"time {stage:<35} {seconds:>9.1f} s" for stage, seconds in timings.items()]
    return "\n".join(lines)
