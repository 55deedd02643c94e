"""``kgtext index-kg``: phase 0 of ``build-corpus`` once, as a folder users keep and share.

Every build reads and indexes the whole KG (phase 0): for a large KG that is most of the work, repeated for
each new document set. ``kgtext index-kg --kg ... --out KGIDX`` writes phase 0's look-up files (the facts and
names shards, and the surface-form index unless ``--lexicon-linking off``), the KG's dead letters and a
``manifest.json`` naming the inputs (size and sha256), the phase-0 options, the statistics and every file
with its sha256; ``build-corpus --kg-index KGIDX`` then skips phase 0. The files are typed Arrow columns
only (no pickle: a shared index cannot run code; :class:`kgtext.aligners.kg_index.RowIndex` refuses any
other schema). The folder follows the corpus rules: built in a marked sibling, moved into place at the
end, locked while written, replaced only with ``--overwrite`` and only when kgtext wrote it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from kgtext.aligners.config import AlignerConfig
from kgtext.aligners.kg_index import shard_count
from kgtext.common.cli_parser import HelpfulParser
from kgtext.common.memory import tune_malloc
from kgtext.corpus.replace import (
    CREATED_BY,
    PENDING_MANIFEST,
    OutputError,
    disk_full,
    disk_full_message,
    make_build_folder,
    output_problem,
    replace_directory,
)
from kgtext.corpus.stats import StatFamily
from kgtext.kg.config import KgConfig
from kgtext.pipelines.build_corpus import (
    KG_STAGE,
    _run,
    claim_output,
    input_bytes,
    quiet_beam_logs,
    split_known,
)
from kgtext.pipelines.config import FLAG_DEFAULTS, LexiconLinking
from kgtext.pipelines.files import (
    InputError,
    expand_inputs,
    move_into_place,
    remove_tree,
    temporary_sibling,
    write_atomic,
)
from kgtext.pipelines.index_folder import INDEX_FORMAT_VERSION, INDEX_KIND, index_options
from kgtext.pipelines.options import add_flag, beam_args_of
from kgtext.pipelines.phases import KG_INDEX_DIR, LEXICON_DIR, BuildPaths, PhaseZero, build_phase_zero
from kgtext.pipelines.report import check_input_files, file_sha256, read_json
from kgtext.pipelines.writers import join_path

logger = logging.getLogger(__name__)

COMMAND = "index-kg"


class IndexResult(NamedTuple):
    manifest: dict[str, Any]
    timings: dict[str, float]


def _manifest(
    root: str, kg_files: Sequence[str], options: Mapping[str, Any], shards: int, stats: Mapping[str, int]
) -> dict[str, Any]:
    files: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for folder, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if rel.startswith("_work/") or rel.startswith(".") or rel == PENDING_MANIFEST:
                continue
            sizes[rel], files[rel] = file_sha256(path)
    inputs = []
    for path in kg_files:
        size, sha = file_sha256(path)
        inputs.append({"path": path, "bytes": size, "sha256": sha})
    return {
        "created_by": CREATED_BY,
        "kind": INDEX_KIND,
        "format_version": INDEX_FORMAT_VERSION,
        "inputs": inputs,
        "options": dict(options),
        "index_shards": shards,
        "statistics": dict(sorted(stats.items())),
        "files": files,
        "bytes": sizes,
    }


def index_kg(
    kg: Sequence[str], out: str, *, overwrite: bool, kg_config: KgConfig, aligner: AlignerConfig,
    linking: LexiconLinking, beam_args: tuple[str, ...],
) -> IndexResult:  # fmt: skip
    """Write the KG index folder ``out``; InputError for unusable inputs or outputs."""
    if "://" in out:
        raise InputError(
            f"--out {out}: a KG index is written to a local folder (copy it to object storage after)"
        )
    started = time.monotonic()
    kg_all = expand_inputs(kg, "kg")
    check_input_files(kg_all, "kg")
    lock = claim_output(out, overwrite, (*kg, *kg_all), COMMAND)
    timings: dict[str, float] = {}
    root = temporary_sibling(out, "building")
    try:
        kg_files, rejected = split_known(kg_all, "kg")
        make_build_folder(out, COMMAND, root)
        paths = BuildPaths(root, index_root=root)
        shards = shard_count(input_bytes(kg_files))
        phase = PhaseZero(
            paths=paths, kg_files=kg_files, rejected=rejected, index_shards=shards,
            kg=kg_config, aligner=aligner, linking=linking,
        )  # fmt: skip
        _run(build_phase_zero, phase, beam_args, "index the KG", timings)
        stats: dict[str, int] = read_json(paths.stats(0), {})
        # Only the folders this run created inside its own build folder: spill runs and the work area.
        for temporary in (
            join_path(root, KG_INDEX_DIR, "runs"),
            join_path(root, LEXICON_DIR, "runs"),
            paths.work,
        ):
            remove_tree(temporary)
        manifest = _manifest(root, kg_files, index_options(kg_config, aligner, linking), shards, stats)
        write_atomic(
            join_path(root, PENDING_MANIFEST), (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
        )
        problem = output_problem(out, overwrite=overwrite, inputs=(*kg, *kg_all))
        if problem is not None:
            raise OutputError(problem)
        if lock is None:
            move_into_place(root, out, PENDING_MANIFEST)
        else:
            replace_directory(root, out, COMMAND)
    except OutputError as err:
        remove_tree(root)
        raise InputError(str(err)) from None
    except BaseException as err:
        logger.error("indexing failed; removing the temporary directory %s", root)
        remove_tree(root)
        full = disk_full(err)
        if full is not None:
            raise InputError(
                f"{disk_full_message(full, out)}; the build folder was removed and --out {out} is unchanged"
            ) from None
        raise
    finally:
        if lock is not None:
            lock.release()
    timings["total"] = time.monotonic() - started
    return IndexResult(manifest, timings)


def _parser() -> HelpfulParser:
    d = FLAG_DEFAULTS
    p = HelpfulParser(
        prog="kgtext index-kg",
        description="Read and index a KG once (build-corpus's phase 0) into a folder that `kgtext build-corpus "
        "--kg-index DIR` reuses for any number of document sets. Options kgtext does not know are passed to "
        "Beam (snake_case, e.g. --runner, --direct_num_workers).",
        epilog="Example: kgtext index-kg --kg data/sample/kg.ttl --out out/kg-index && kgtext build-corpus "
        "--kg-index out/kg-index --docs data/sample/docs.jsonl --out out/corpus",
    )
    p.add_argument("--kg", nargs="+", required=True, metavar="PATH", help="KG files, globs or directories")
    p.add_argument("--out", required=True, metavar="DIR", help="output index folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing index at --out")
    add_flag(p, "language", str, "document language code")
    add_flag(
        p,
        "max-line-bytes",
        int,
        "longest line of a KG file, in bytes; longer ones are dead letters",
        minimum=1,
    )
    p.add_argument(
        "--lexicon-linking",
        choices=[m.value for m in LexiconLinking],
        default=d["lexicon_linking"].value,
        help="off: leave out the surface-form index of every KG name (builds then cannot link plain text); "
        "unlinked or all (default unlinked): include it",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext index-kg`` (see ``--help``)."""
    parser = _parser()
    ns, rest = parser.parse_known_args(sys.argv[1:] if argv is None else list(argv))
    beam_args = beam_args_of(parser, rest)
    tune_malloc()
    try:
        kg_config = KgConfig(languages=(ns.language, ""), max_line_bytes=ns.max_line_bytes)
        aligner = AlignerConfig(language=ns.language)
    except ValueError as err:
        parser.error(str(err))
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_beam_logs()
    try:
        result = index_kg(
            ns.kg, ns.out, overwrite=ns.overwrite, kg_config=kg_config, aligner=aligner,
            linking=LexiconLinking(ns.lexicon_linking), beam_args=beam_args,
        )  # fmt: skip
    except InputError as err:
        sys.stderr.write(f"kgtext index-kg: error: {err}\n")
        raise SystemExit(2) from None
    stats = result.manifest["statistics"]
    rejected = stats.get(StatFamily.DEAD_LETTERS.key(KG_STAGE), 0)
    size = sum(result.manifest["bytes"].values())
    sys.stdout.write(
        f"KG index {ns.out}: {len(result.manifest['inputs'])} KG file(s), {result.manifest['index_shards']} shards, "
        f"{len(result.manifest['files'])} files, {size:,} bytes; {rejected:,} KG records rejected "
        f"(dead letters in {ns.out}/dead_letters/); {result.timings['total']:.1f} s\n"
    )


if __name__ == "__main__":
    main()
