"""``kgtext export CORPUS --format parquet|jsonl --out DIR``: a corpus's Arrow stream shards -> Parquet or JSONL.

Shards are Arrow IPC *stream* files, which ``pyarrow.dataset``, ``feather.read_table``, polars
``read_ipc``/``scan_ipc`` and DuckDB do not open. This writes ``DIR/<dataset>/<split>/part-XXXXX.parquet``
(or ``.jsonl``), one file per shard with its rows in order (Parquet keeps the Arrow schema), plus
``DIR/export.json`` (:class:`ExportRecord`). The corpus is read only through
:class:`kgtext.corpus.reader.CorpusReader`; the export is written into a hidden build folder beside ``DIR`` and
moved into place by the journalled replace step of :mod:`kgtext.corpus.replace` (which also finishes or removes
what a killed export left), and a non-empty ``DIR`` is only replaced when it is a previous export holding
nothing else. On a full disk the export stops with one line naming the file and the free space, its build
folder removed and ``DIR`` unchanged.
"""

from __future__ import annotations

import difflib
import enum
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from kgtext.common.cli_parser import HelpfulParser
from kgtext.common.shape import ShapeError, parse_record
from kgtext.corpus.errors import CorpusError
from kgtext.corpus.inspect import format_table
from kgtext.corpus.manifest import MANIFEST_NAME
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.replace import (
    MARKERS,
    OutputError,
    OutputLock,
    recover_output,
    staged_output,
)
from kgtext.corpus.schemas import DATASETS
from kgtext.corpus.shards import ROWS_PER_BATCH, sha256_file, write_local_atomic
from kgtext.corpus.tasks.tokenizer import Tokenizer

logger = logging.getLogger(__name__)

EXPORT_RECORD = "export.json"
"""Written last into the export folder; its presence marks a folder kgtext export may replace."""
CREATED_BY = "kgtext export"
COMMAND = "export"

TOKEN_ID_COLUMNS = ("input_ids",)
"""Columns holding SentencePiece ids of the corpus tokenizer, decoded by ``--decode``. In
corpus/tasks/schemas.py only ``input_ids`` does (every task dataset has it): ``segment_ids`` are segment
numbers and ``segment_starts`` and the spans are token positions. A dataset gets ``--decode`` columns
when it has one of these as ``list<int32>``; a new token-id column is named here."""
TEXT_SUFFIX = "_text"


class ExportFormat(str, enum.Enum):
    """Output file format; the value is also the file extension."""

    PARQUET = "parquet"
    JSONL = "jsonl"


class ExportError(ValueError):
    """The export cannot run as asked (bad ``--out``, unknown dataset); one line naming the problem."""


@dataclass(kw_only=True, slots=True, frozen=True)
class ExportConfig:
    """What ``kgtext export`` was asked to do."""

    corpus: str
    """Corpus directory (holds manifest.json)."""
    out: str
    """Export folder: absent, empty, or a previous export (with ``overwrite``)."""
    format: ExportFormat
    datasets: tuple[str, ...] = ()
    """Datasets to export; empty: every dataset the manifest lists."""
    decode: bool = False
    """Append a ``<column>_text`` string column per token-id column."""
    verify: bool = False
    """Re-hash every shard and the tokenizer against the manifest before exporting."""
    overwrite: bool = False
    """Replace ``out`` when it is a previous export."""


@dataclass(kw_only=True, slots=True)
class ExportedFile:
    """One written file (``export.json`` ``files``): the rows of one shard."""

    path: str
    """Relative to the export folder, POSIX separators: ``kmlm/train/part-00000.parquet``."""
    dataset: str
    split: str
    rows: int


@dataclass(kw_only=True, slots=True)
class ExportRecord:
    """``OUT/export.json``: where an export came from and what it holds (parsed back by :mod:`kgtext.common.shape`)."""

    created_by: str
    """Always :data:`CREATED_BY`: marks a folder that ``--overwrite`` may replace."""
    source: str
    """Absolute path of the corpus directory."""
    source_manifest_sha256: str
    format: str
    decoded_columns: dict[str, list[str]]
    """dataset -> the ``<column>_text`` columns ``--decode`` added (empty without ``--decode``)."""
    datasets: dict[str, dict[str, int]]
    """dataset -> split -> rows."""
    files: list[ExportedFile]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"


def token_id_columns(schema: pa.Schema) -> list[str]:
    """The columns of ``schema`` that ``--decode`` decodes (see :data:`TOKEN_ID_COLUMNS`)."""
    return [
        field.name
        for field in schema
        if field.name in TOKEN_ID_COLUMNS
        and pa.types.is_list(field.type)
        and pa.types.is_int32(field.type.value_type)
    ]


def decode_help() -> str:
    """Which columns ``--decode`` adds to which datasets, for ``--help``."""
    groups: dict[str, list[str]] = {}
    for name, schema in DATASETS.items():
        added = " ".join(c + TEXT_SUFFIX for c in token_id_columns(schema))
        groups.setdefault(added, []).append(name)
    parts = [f"{cols} to {', '.join(names)}" for cols, names in groups.items() if cols]
    parts += [f"nothing to {', '.join(names)} (no token ids)" for cols, names in groups.items() if not cols]
    return (
        f"add a string column <column>{TEXT_SUFFIX} per token-id column, decoded with the corpus "
        f"SentencePiece model (special pieces such as [CLS] and [SEP] dropped): {'; '.join(parts)}"
    )


def select_datasets(reader: CorpusReader, names: Sequence[str]) -> list[str]:
    """The datasets to export in the manifest's canonical order; ExportError for a name it lacks."""
    present = reader.datasets()
    for name in names:
        if name not in present:
            close = difflib.get_close_matches(name, present, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ExportError(f"unknown dataset {name!r}{hint}; this corpus has: {', '.join(present)}")
    return [name for name in present if not names or name in names]


def load_decoder(reader: CorpusReader) -> Tokenizer:
    """The corpus tokenizer named by the manifest, checked against the manifest's sha256."""
    path = reader.tokenizer_path()
    if not path.is_file():
        raise CorpusError(str(path), "tokenizer model is missing")
    try:
        tok = Tokenizer.load(path)
    except (ValueError, RuntimeError, OSError) as err:
        raise CorpusError(str(path), str(err).removeprefix(f"{path}: ")) from None
    assert reader.manifest.tokenizer is not None  # tokenizer_path() raised otherwise
    if tok.sha256 != reader.manifest.tokenizer.sha256:
        raise CorpusError(str(path), "tokenizer sha256 differs from the manifest")
    return tok


def decode_ids(column: pa.ChunkedArray, tok: Tokenizer) -> pa.Array:
    """One decoded string per row of a ``list<int32>`` token-id column."""
    texts: list[str] = []
    for chunk in column.chunks:
        values = chunk.values.to_numpy(zero_copy_only=False)  # every id of the chunk, (total ids,)
        offsets = chunk.offsets.to_numpy()  # (rows + 1,): row r is values[offsets[r]:offsets[r + 1]]
        texts += [tok.decode(values[a:b].tolist()) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    return pa.array(texts, pa.string())


def add_decoded_columns(table: pa.Table, tok: Tokenizer) -> pa.Table:
    """``table`` with a non-null ``<column>_text`` string column appended per token-id column."""
    for name in token_id_columns(table.schema):
        field = pa.field(name + TEXT_SUFFIX, pa.string(), nullable=False)
        table = table.append_column(field, decode_ids(table.column(name), tok))
    return table


def write_parquet(table: pa.Table, path: Path) -> None:
    """One Parquet file with the table's Arrow schema stored beside it (types and nullability kept)."""
    pq.write_table(table, path)


def write_jsonl(table: pa.Table, path: Path) -> None:
    """One compact JSON object per row, UTF-8, in the table's row order."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for batch in table.to_batches(max_chunksize=ROWS_PER_BATCH):
            handle.writelines(
                json.dumps(row, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
                for row in batch.to_pylist()
            )


WRITERS: dict[ExportFormat, Callable[[pa.Table, Path], None]] = {
    ExportFormat.PARQUET: write_parquet,
    ExportFormat.JSONL: write_jsonl,
}


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def read_record(folder: Path) -> ExportRecord | None:
    """The ``export.json`` of a previous export in ``folder``, or None when there is none (or not ours)."""
    try:
        record = parse_record(ExportRecord, json.loads((folder / EXPORT_RECORD).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ShapeError):
        return None
    return record if record.created_by == CREATED_BY else None


def _foreign_entry(folder: Path, record: ExportRecord) -> str | None:
    """The first file or folder under a previous export that its ``export.json`` does not list."""
    expected = {EXPORT_RECORD, *MARKERS} | {f.path for f in record.files}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(e.startswith(rel + "/") for e in expected):
                return rel + "/"
        elif rel not in expected:
            return rel
    return None


def output_problem(out: str, corpus: Path, *, overwrite: bool) -> str | None:
    """Why the export must not write ``out`` (one line naming it), or None when it may."""
    target = Path(os.path.realpath(out))
    source = Path(os.path.realpath(corpus))
    if Path(os.path.abspath(out)).is_symlink():
        return f"--out {out}: is a symbolic link (to {target}); name the folder itself"
    if _is_within(target, source) or _is_within(source, target):
        return f"--out {out}: is inside the corpus directory {corpus} or holds it; name a folder outside it"
    if _is_within(Path(os.path.realpath(os.getcwd())), target):
        return f"--out {out}: is the current directory or holds it; name a new folder"
    if not target.exists():
        return None
    if not target.is_dir():
        return f"--out {out}: is a file, not a directory"
    if not any(target.iterdir()):
        return None
    record = read_record(target)
    if record is None:
        return (
            f"--out {out}: is not empty and kgtext export did not write it (no {EXPORT_RECORD}); "
            "name a new or empty folder"
        )
    if not overwrite:
        return f"--out {out}: holds a previous export; pass --overwrite to replace it"
    foreign = _foreign_entry(target, record)
    if foreign is not None:
        return f"--out {out}: holds {foreign}, which kgtext export did not write; move it away first"
    return None


def write_files(
    reader: CorpusReader, datasets: Sequence[str], config: ExportConfig, root: Path, tok: Tokenizer | None
) -> list[ExportedFile]:
    """Write one file per shard of ``datasets`` under ``root``; a tqdm bar on stderr counts the shards."""
    jobs = [
        (dataset, split, index, shard)
        for dataset in datasets
        for split, shards in reader.manifest.datasets[dataset].items()
        for index, shard in enumerate(shards)
    ]
    write = WRITERS[config.format]
    written: list[ExportedFile] = []
    for dataset, split, index, shard in tqdm(jobs, desc="kgtext export", unit="shard", file=sys.stderr):
        table = reader.open_shard(dataset, shard)
        if tok is not None:
            table = add_decoded_columns(table, tok)
        rel = f"{dataset}/{split}/part-{index:05d}.{config.format.value}"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write(table, root / rel)
        written.append(ExportedFile(path=rel, dataset=dataset, split=split, rows=table.num_rows))
    return written


def export_record(
    reader: CorpusReader, datasets: Sequence[str], config: ExportConfig, files: list[ExportedFile]
) -> ExportRecord:
    """What ``export.json`` says: the source, the format and what was written."""
    rows: dict[str, dict[str, int]] = {name: {} for name in datasets}
    for f in files:
        rows[f.dataset][f.split] = rows[f.dataset].get(f.split, 0) + f.rows
    decoded = {name: [c + TEXT_SUFFIX for c in token_id_columns(DATASETS[name])] for name in datasets}
    return ExportRecord(
        created_by=CREATED_BY,
        source=str(reader.root.resolve()),
        source_manifest_sha256=sha256_file(reader.root / MANIFEST_NAME),
        format=config.format.value,
        decoded_columns=decoded if config.decode else {},
        datasets=rows,
        files=files,
    )


def _verify(reader: CorpusReader) -> None:
    problems = reader.verify()
    if problems:
        more = (
            f" (and {len(problems) - 1} more: kgtext inspect --verify lists them)"
            if len(problems) > 1
            else ""
        )
        raise CorpusError(problems[0].path, problems[0].problem + more)


def export_corpus(config: ExportConfig) -> ExportRecord:
    """Export the corpus as ``config`` says and return the ``export.json`` record written."""
    reader = CorpusReader(config.corpus)
    datasets = select_datasets(reader, config.datasets)
    if config.verify:
        _verify(reader)
    tok = load_decoder(reader) if config.decode else None
    out = Path(os.path.abspath(config.out))
    lock = OutputLock(out, COMMAND)
    try:
        lock.acquire()
    except OutputError as err:  # another kgtext process holds --out
        raise ExportError(str(err)) from None
    except OSError as err:  # e.g. a read-only parent folder
        raise ExportError(f"--out {config.out}: cannot lock it ({err})") from None
    try:
        try:
            for line in recover_output(out):
                logger.warning("%s", line)
        except OSError as err:  # e.g. a folder it may not remove: say so, export nothing
            raise ExportError(
                f"--out {config.out}: cannot finish what a killed command left ({err})"
            ) from None
        problem = output_problem(config.out, reader.root, overwrite=config.overwrite)
        if problem is not None:
            raise ExportError(problem)
        return _write_export(reader, datasets, config, out, tok)
    except OutputError as err:  # a replace journal recovery refuses
        raise ExportError(str(err)) from None
    finally:
        lock.release()


def _write_export(
    reader: CorpusReader, datasets: Sequence[str], config: ExportConfig, out: Path, tok: Tokenizer | None
) -> ExportRecord:
    """Write the export into a marked build folder and move it onto ``out`` (the caller holds the lock)."""
    with staged_output(out, COMMAND, shown=config.out, what="export", error=ExportError) as new:
        files = write_files(reader, datasets, config, new, tok)
        record = export_record(reader, datasets, config, files)
        write_local_atomic(new / EXPORT_RECORD, record.to_json().encode("utf-8"))
    return record


def summary(record: ExportRecord, out: str) -> str:
    """Files and rows per dataset split, then one line naming the folder."""
    files = Counter((f.dataset, f.split) for f in record.files)
    table = [
        (dataset, split, files[(dataset, split)], f"{rows:,}")
        for dataset, splits in record.datasets.items()
        for split, rows in splits.items()
    ]
    text = format_table(["dataset", "split", "files", "rows"], table)
    total = sum(f.rows for f in record.files)
    return "\n".join(line.rstrip() for line in text.splitlines()) + (
        f"\nwrote {len(record.files)} {record.format} files ({total:,} rows) and {EXPORT_RECORD} to {out}"
    )


def _parse_args(argv: list[str] | None) -> ExportConfig:
    parser = HelpfulParser(
        prog="kgtext export",
        description="Write a corpus's Arrow stream shards as Parquet or JSON Lines files that "
        "pyarrow.dataset, polars, DuckDB and pandas open: OUT/<dataset>/<split>/part-XXXXX.parquet, "
        "one file per shard, same rows in the same order, plus OUT/export.json.",
    )
    parser.add_argument("corpus", help="corpus directory (holds manifest.json)")
    parser.add_argument(
        "--format",
        choices=[f.value for f in ExportFormat],
        required=True,
        help="parquet (the shard's Arrow schema kept) or jsonl (one JSON object per row, lists as arrays)",
    )
    parser.add_argument(
        "--out", required=True, help="export folder: new, empty, or a previous export (with --overwrite)"
    )
    parser.add_argument(
        "--datasets",
        default="",
        metavar="NAME,NAME",
        help="comma-separated datasets to export (default: every dataset in the manifest)",
    )
    parser.add_argument("--decode", action="store_true", help=decode_help())
    parser.add_argument(
        "--verify", action="store_true", help="re-hash every shard against the manifest first"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out when it is a previous export (a folder with export.json and nothing else)",
    )
    args = parser.parse_args(argv)
    names = tuple(dict.fromkeys(n.strip() for n in args.datasets.split(",") if n.strip()))
    return ExportConfig(
        corpus=args.corpus,
        out=args.out,
        format=ExportFormat(args.format),
        datasets=names,
        decode=args.decode,
        verify=args.verify,
        overwrite=args.overwrite,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``kgtext export``."""
    config = _parse_args(argv)
    try:
        record = export_corpus(config)
    except CorpusError as err:
        print(f"kgtext export: error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    except ExportError as err:
        print(f"kgtext export: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(summary(record, config.out))


if __name__ == "__main__":
    main()
