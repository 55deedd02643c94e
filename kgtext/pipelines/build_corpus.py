# mypy: disable-error-code="no-untyped-call"
# (Beam is unannotated; with the strict overrides of the pure packages mypy flags every call into it.)
"""``kgtext build-corpus``: KG files + document files -> a verified corpus directory (Arrow shards + manifest).

Runs as phases inside one command: Beam phase 1 (read, clean, de-duplicate, join, align -> ``aligned/``,
intermediate parts, tokenizer sample), tokenizer training (one process, pinned threads), Beam phase 2
(the five task datasets), then the manifest. Everything is written into a temporary hidden sibling of
``--out`` that is moved into place at the end, so an interrupted or failed run leaves nothing that looks
like a complete corpus. Example::

    kgtext build-corpus --kg data/sample/kg.ttl --docs data/sample/docs.jsonl --out out/corpus \
        --overwrite --runner=DirectRunner
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, TypeOptions
from apache_beam.runners.runner import PipelineState

from kgtext.aligners.documents import STAGE as DOCS_STAGE
from kgtext.aligners.documents import document_format_of
from kgtext.aligners.kg_index import MIN_SHARDS, shard_count
from kgtext.common.dead_letters import DeadLetter, Reason, make_dead_letter
from kgtext.common.memory import tune_malloc
from kgtext.corpus.card import CARD_NAME, dataset_card
from kgtext.corpus.manifest import InputFile, Manifest
from kgtext.corpus.reader import CorpusReader
from kgtext.corpus.replace import (
    PENDING_MANIFEST,
    OutputError,
    OutputLock,
    ReadLock,
    disk_full,
    disk_full_message,
    make_build_folder,
    output_problem,
    recover_output,
    replace_directory,
)
from kgtext.corpus.stats import StatKey
from kgtext.corpus.tasks.tokenizer import Tokenizer, TokenizerConfig, train_tokenizer
from kgtext.kg.readers import kg_format_of
from kgtext.pipelines.config import BuildConfig
from kgtext.pipelines.files import (
    InputError,
    check_output,
    expand_inputs,
    move_into_place,
    read_bytes,
    remove_tree,
    temporary_sibling,
    write_atomic,
)
from kgtext.pipelines.index_folder import KgIndexInfo, check_index_fits, read_index
from kgtext.pipelines.options import parse_args, runner_name
from kgtext.pipelines.phases import (
    BuildPaths,
    PhaseOne,
    PhaseTwo,
    PhaseZero,
    build_phase_one,
    build_phase_two,
    build_phase_zero,
)
from kgtext.pipelines.rejections import (
    Rejections,
    check_rejections,
    keep_dead_letters,
    report_alignment,
    report_summary,
)
from kgtext.pipelines.report import (
    assemble_manifest,
    check_input_files,
    first_aligned_rows,
    input_files,
    log_examples,
    read_json,
    read_shard_records,
    summary_table,
    tokenizer_info,
)
from kgtext.pipelines.writers import PART_LIST, join_path

logger = logging.getLogger(__name__)

TOKENIZER_REL_PATH = "tokenizer/spm.model"
VOCAB_REL_PATH = "tokenizer/spm.vocab"
KG_STAGE = "read_kg"
COMMAND = "build-corpus"


class BuildResult(NamedTuple):
    """What :func:`build_corpus` leaves: the manifest written to ``out`` and the seconds per step."""

    manifest: Manifest
    timings: dict[str, float]
    rejections: Rejections


def split_known(files: list[str], role: str) -> tuple[list[str], list[DeadLetter]]:
    """Files with a known format, and a dead letter for each file with an unknown extension."""
    known, rejected = [], []
    format_of = kg_format_of if role == "kg" else document_format_of
    stage = KG_STAGE if role == "kg" else DOCS_STAGE
    for path in files:
        try:
            format_of(path)
        except ValueError as err:
            logger.warning("skipping %s", err)
            rejected.append(make_dead_letter(stage, path, Reason.UNKNOWN_EXTENSION, str(err)))
        else:
            known.append(path)
    if not known:
        raise InputError(f"--{role}: no input file has a known extension ({', '.join(files)})")
    return known, rejected


def read_sample(path: str) -> Iterator[str]:
    """The tokenizer sample written by phase 1 (absent when no sentence survived): one JSON string per line.

    Split at ``\n`` only: ``str.splitlines`` also splits at U+2028, U+2029 and U+0085, which JSON allows
    raw inside a string.
    """
    if not FileSystems.exists(path):
        return
    for line in read_bytes(path).decode("utf-8").split("\n"):
        if line.strip():
            yield json.loads(line)


NOTHING_SURVIVED = "no sentence survived reading, cleaning and alignment"


def nothing_survived(rejections: Rejections, what: str) -> InputError:
    """The error of a build left with no sentence, naming the top rejection reason when there is one."""
    top = rejections.top()
    return InputError(f"{NOTHING_SURVIVED}: {what}" + (f"; top reason: {top}" if top else ""))


def train_corpus_tokenizer(
    sample_path: str, root: str, config: TokenizerConfig, rejections: Rejections
) -> str:
    """Train SentencePiece on the sample (locally, pinned threads) and store it under ``tokenizer/``."""
    sentences = list(read_sample(sample_path))
    if not sentences:
        raise nothing_survived(rejections, "nothing to train a tokenizer on")
    with tempfile.TemporaryDirectory(prefix="kgtext-spm-") as tmp:
        try:
            model = train_tokenizer(sentences, os.path.join(tmp, "spm"), config)
        except RuntimeError as err:  # SentencePiece reports unusable settings as RuntimeError
            raise InputError(
                f"tokenizer training on {len(sentences):,} sentences failed: {str(err).splitlines()[0]}"
            ) from None
        with open(model, "rb") as handle:
            data = handle.read()
    path = join_path(root, TOKENIZER_REL_PATH)
    write_atomic(path, data)
    logger.info("tokenizer trained on %d sentences", len(sentences))
    return path


Phase = TypeVar("Phase", PhaseZero, PhaseOne, PhaseTwo)


def _run(
    build: Callable[[beam.Pipeline, Phase], None],
    phase: Phase,
    beam_args: tuple[str, ...],
    label: str,
    timings: dict[str, float],
) -> None:
    """Wire one phase with ``build`` onto a new pipeline, run it to the end and time it under ``label``."""
    started = time.monotonic()
    logger.info("%s: running on %s", label, runner_name(beam_args))
    p = beam.Pipeline(options=pipeline_options(beam_args))
    build(p, phase)
    result = p.run()
    try:
        state = result.wait_until_finish()
        if state not in (None, PipelineState.DONE):
            raise RuntimeError(f"{label}: the runner finished in state {state}")
    finally:
        # The DaskRunner leaves its distributed.Client open; close it so the process can exit promptly.
        client = getattr(result, "client", None)
        if client is not None:
            client.close()
    timings[label] = time.monotonic() - started
    logger.info("%s: done in %.1f s", label, timings[label])


WORKER_LOG_LEVEL = "--default_sdk_harness_log_level=WARNING"
WORKER_LOG_OVERRIDES = '--sdk_harness_log_level_overrides={"pipelines": "INFO"}'
"""Beam's SDK worker processes (multi-processing DirectRunner, PortableRunner, Flink, Spark) log a dozen
INFO lines each about channels and their options; they keep WARNING, and kgtext's own progress lines."""


def pipeline_options(beam_args: tuple[str, ...]) -> PipelineOptions:
    """Beam's options for one phase. Beam 2.77's DirectRunner first tries to download and run the Prism
    runner (and falls back when it cannot): kgtext never downloads anything at run time and keeps the
    runner the user named, so for the DirectRunner the switch is turned off through the one documented
    condition that disables it, ``allow_unsafe_triggers`` (kgtext uses no triggers, so it changes nothing
    else). Worker processes log at WARNING (kgtext's progress at INFO) unless the user sets the levels."""
    args = list(beam_args)
    if not any(a.startswith("--default_sdk_harness_log_level") for a in args):
        args.append(WORKER_LOG_LEVEL)
    if not any(a.startswith("--sdk_harness_log_level_overrides") for a in args):
        args.append(WORKER_LOG_OVERRIDES)
    options = PipelineOptions(args)
    if runner_name(beam_args).rsplit(".", 1)[-1] == "DirectRunner":
        options.view_as(TypeOptions).allow_unsafe_triggers = True
    return options


class Plan(NamedTuple):
    """Everything one build needs, resolved before any Beam pipeline starts."""

    config: BuildConfig
    lock: OutputLock | None
    """Held from planning to the end of the build (local ``--out`` only)."""
    inputs: tuple[str, ...]
    """Every input as given and as expanded: none may lie inside an ``--out`` that is replaced."""
    beam_args: tuple[str, ...]
    kg_files: list[str]
    doc_files: list[str]
    rejected: list[DeadLetter]
    paths: BuildPaths
    tokenizer_model: bytes | None = None
    """The ``--tokenizer`` model, checked at planning; None when the build trains one."""
    index_shards: int = MIN_SHARDS
    """Shards of the KG index phase 0 writes (they follow the KG's size)."""
    kg_index: KgIndexInfo | None = None
    """The ``--kg-index`` folder that replaces phase 0, checked at planning."""
    index_lock: ReadLock | None = None
    """Shared lock on ``--kg-index``, held from planning to the end of the build."""

    def rejected_at(self, stage: str) -> list[DeadLetter]:
        return [letter for letter in self.rejected if letter.stage == stage]

    def phase_zero(self) -> PhaseZero:
        config = self.config
        return PhaseZero(
            paths=self.paths,
            kg_files=self.kg_files,
            rejected=self.rejected_at(KG_STAGE),
            index_shards=self.index_shards,
            kg=config.kg,
            aligner=config.aligner,
            linking=config.lexicon_linking,
        )

    def phase_one(self) -> PhaseOne:
        config = self.config
        return PhaseOne(
            paths=self.paths,
            doc_files=self.doc_files,
            rejected=self.rejected_at(DOCS_STAGE),
            index_shards=self.index_shards,
            kg=config.kg,
            aligner=config.aligner,
            num_shards=config.num_shards,
            valid_fraction=config.valid_fraction,
            sample_sentences=config.tokenizer.sample_size,
            linking=config.lexicon_linking,
            fields=config.fields,
            max_doc_bytes=config.max_doc_bytes,
        )

    def phase_two(self, tokenizer_path: str, documents: int) -> PhaseTwo:
        """Phase 2 over phase 1's parts, with ``documents`` (phase 1's kept count) for buckets and progress."""
        config = self.config
        return PhaseTwo(
            paths=self.paths,
            part_files=_part_files(self.paths.parts),
            tokenizer_path=tokenizer_path,
            tasks=config.tasks,
            num_buckets=max(1, math.ceil(documents / config.sd_docs_per_bucket)),
            num_shards=config.num_shards,
            valid_fraction=config.valid_fraction,
            total_documents=documents,
        )


def claim_output(
    out: str, overwrite: bool, inputs: Sequence[str], command: str = COMMAND
) -> OutputLock | None:
    """Lock a local ``--out``, finish what a killed run of ``command`` left there, and check that it may be
    written.

    Raises InputError (after releasing the lock) when ``--out`` must not be written; remote outputs only
    get the existence check (no lock or journal on object stores).
    """
    if "://" in out:
        check_output(out, overwrite)
        return None
    lock = OutputLock(out, command)
    try:
        lock.acquire()
        for line in recover_output(out):
            logger.warning("%s", line)
        problem = output_problem(out, overwrite=overwrite, inputs=inputs)
        if problem is not None:
            raise OutputError(problem)
    except OutputError as err:
        lock.release()
        raise InputError(str(err)) from None
    except OSError as err:
        lock.release()
        raise InputError(f"--out {out}: cannot lock it ({err})") from None
    return lock


def load_given_tokenizer(path: str) -> bytes | None:
    """The bytes of the ``--tokenizer`` model (None when none is given); InputError naming the file when it
    cannot be read or is not a SentencePiece model with kgtext's special pieces."""
    if not path:
        return None
    try:
        data = read_bytes(path)
    except (OSError, ValueError) as err:  # Beam's FileSystems raise BeamIOError, an OSError
        raise InputError(f"--tokenizer {path}: cannot read it ({err})") from None
    try:
        Tokenizer.from_bytes(data)
    except (RuntimeError, ValueError) as err:
        raise InputError(f"--tokenizer {path}: not a usable SentencePiece model ({err})") from None
    return data


def plan_build(config: BuildConfig, beam_args: tuple[str, ...]) -> Plan:
    """Claim the output, expand the inputs and derive the component configurations (no file written)."""
    kg_all = expand_inputs(config.kg_paths, "kg") if config.kg_paths else []
    docs_all = expand_inputs(config.doc_paths, "docs")
    check_input_files(kg_all, "kg")
    check_input_files(docs_all, "docs")
    index, index_lock = None, None
    if config.kg_index:
        if "://" in config.kg_index:
            raise InputError(f"--kg-index {config.kg_index}: a KG index is read from a local folder")
        index_lock = ReadLock(config.kg_index, COMMAND)  # held until the build ends: no swap under it
        try:
            index_lock.acquire()
        except OutputError as err:
            raise InputError(f"--kg-index {config.kg_index}: {err}") from None
    lock: OutputLock | None = None
    try:
        if config.kg_index:
            index = read_index(config.kg_index)
            # The index recorded the KG files of a known format only; compare the same ones.
            check_index_fits(index, config, split_known(kg_all, "kg")[0] if kg_all else [])
            logger.info("phase 0: reusing the KG index %s (%d shards)", config.kg_index, index.shards)
        given = config.tokenizer.given
        tokenizer_model = load_given_tokenizer(given)
        inputs = (
            *config.kg_paths, *config.doc_paths, *kg_all, *docs_all, *([given] if given else []),
            *([config.kg_index] if config.kg_index else []),
        )  # fmt: skip
        lock = claim_output(config.out, config.overwrite, inputs)
        kg_files, kg_rejected = split_known(kg_all, "kg") if index is None else ([], [])
        doc_files, doc_rejected = split_known(docs_all, "docs")
    except InputError:
        for held in (lock, index_lock):
            if held is not None:
                held.release()
        raise
    paths = BuildPaths(temporary_sibling(config.out, "building"), index_root=index.root if index else "")
    shards = index.shards if index is not None else shard_count(input_bytes(kg_files))
    return Plan(
        config,
        lock,
        inputs,
        beam_args,
        kg_files,
        doc_files,
        kg_rejected + doc_rejected,
        paths,
        tokenizer_model,
        shards,
        index,
        index_lock,
    )


def input_bytes(files: Sequence[str]) -> int:
    """Total size of the (expanded) input files, as FileSystems reports it."""
    return sum(m.size_in_bytes for result in FileSystems.match(list(files)) for m in result.metadata_list)


def run_phase_zero(plan: Plan, timings: dict[str, float]) -> dict[str, int]:
    """Phase 0 (the KG's look-up files: facts, names and, with linking, surface forms); its statistics.
    With ``--kg-index``: the index's statistics, and its KG dead letters copied into the build."""
    if plan.kg_index is not None:
        for path in plan.kg_index.dead_letters:  # listed in its manifest, regular files, checked at planning
            write_atomic(
                join_path(plan.paths.root, "dead_letters", os.path.basename(path)), Path(path).read_bytes()
            )
        return dict(plan.kg_index.statistics)
    _run(build_phase_zero, plan.phase_zero(), plan.beam_args, "phase 0 (read KG, index it)", timings)
    stats: dict[str, int] = read_json(plan.paths.stats(0), {})
    return stats


def run_phase_one(plan: Plan, timings: dict[str, float]) -> dict[str, int]:
    """Phase 1, then the first aligned examples in the log; returns phase 1's statistics."""
    paths = plan.paths
    _run(build_phase_one, plan.phase_one(), plan.beam_args, "phase 1 (read, clean, look up, align)", timings)
    examples = plan.config.log_examples
    log_examples(first_aligned_rows(paths.root, read_shard_records(paths.shard_info), examples))
    stats: dict[str, int] = read_json(paths.stats(1), {})
    return stats


def run_phase_two(
    plan: Plan, tokenizer_path: str, documents: int, timings: dict[str, float]
) -> dict[str, int]:
    """Phase 2 over the intermediate parts; returns phase 2's statistics."""
    phase = plan.phase_two(tokenizer_path, documents)
    _run(build_phase_two, phase, plan.beam_args, "phase 2 (tasks, shards)", timings)
    stats: dict[str, int] = read_json(plan.paths.stats(2), {})
    return stats


def build_in_temporary(plan: Plan, timings: dict[str, float]) -> tuple[Manifest, Rejections]:
    """Run both phases and the tokenizer into the temporary directory and write its manifest."""
    paths = plan.paths
    stats = run_phase_zero(plan, timings)
    for name, value in run_phase_one(plan, timings).items():
        stats[name] = stats.get(name, 0) + value
    rejections = check_rejections(paths.root, stats, plan.config.out, limit=plan.config.rejections.limit)
    report_alignment(stats)
    if plan.tokenizer_model is not None:
        if not stats.get(StatKey.ALIGNED_SENTENCES, 0):
            raise nothing_survived(rejections, "nothing to build")
        tok_path = join_path(paths.root, TOKENIZER_REL_PATH)
        write_atomic(tok_path, plan.tokenizer_model)
        logger.info("tokenizer: reusing %s", plan.config.tokenizer.given)
    else:
        started = time.monotonic()
        tok_path = train_corpus_tokenizer(paths.sample, paths.root, plan.config.tokenizer.train, rejections)
        timings["tokenizer training"] = time.monotonic() - started
    for name, value in run_phase_two(plan, tok_path, stats.get(StatKey.DOCUMENTS_KEPT, 0), timings).items():
        stats[name] = stats.get(name, 0) + value
    tokenizer = Tokenizer.from_bytes(read_bytes(tok_path))
    manifest = assemble_manifest(
        build_config=_build_config(plan),
        inputs=_inputs(plan),
        tokenizer=tokenizer_info(tokenizer, TOKENIZER_REL_PATH),
        valid_fraction=plan.config.valid_fraction,
        num_shards=plan.config.num_shards,
        shards=read_shard_records(paths.shard_info),
        statistics=stats,
    )
    for rel, data in ((VOCAB_REL_PATH, tokenizer.vocab_text()), (CARD_NAME, dataset_card(manifest))):
        encoded = data.encode("utf-8")
        write_atomic(join_path(paths.root, rel), encoded)
        manifest.files[rel] = hashlib.sha256(encoded).hexdigest()
    remove_tree(paths.work)
    # Under a hidden name until the directory is in place: a build folder is never a readable corpus.
    write_atomic(join_path(paths.root, PENDING_MANIFEST), manifest.to_json().encode("utf-8"))
    return manifest, rejections


def build_corpus(config: BuildConfig, beam_args: tuple[str, ...]) -> BuildResult:
    """Build the corpus directory ``config.out``; raises InputError for unusable inputs or outputs.

    Everything is written to a temporary sibling that replaces ``config.out`` only when complete; on any
    failure the temporary directory is removed (its dead letters kept in ``<out>.failed-<UTC time>/``) and an
    existing corpus at ``config.out`` is untouched.
    """
    started = time.monotonic()
    plan = plan_build(config, beam_args)
    logger.info(
        "building %s in %s from %d KG and %d document files",
        config.out,
        plan.paths.root,
        len(plan.kg_files),
        len(plan.doc_files),
    )
    timings: dict[str, float] = {}
    try:
        if plan.lock is not None:  # marked, so that recovery knows it for a build folder of --out
            make_build_folder(config.out, COMMAND, plan.paths.root)
        manifest, rejections = build_in_temporary(plan, timings)
        move_output(plan)
    except BaseException as err:
        kept = _clean_up_failed(plan)
        full = disk_full(err)
        if full is not None:
            raise InputError(
                f"{disk_full_message(full, config.out)}; the build folder was removed and --out "
                f"{config.out} is unchanged" + (f" (the rejected records are in {kept})" if kept else "")
            ) from None
        if kept is None:
            raise
        logger.error("the failed build's dead letters are kept in %s", kept)
        if isinstance(err, InputError):
            raise InputError(f"{err}\n  the rejected records are in {kept}") from None
        raise
    finally:
        for held in (plan.lock, plan.index_lock):
            if held is not None:
                held.release()
    _verify(config.out)
    report_summary(rejections, manifest.statistics, config.out)
    timings["total"] = time.monotonic() - started
    return BuildResult(manifest, timings, rejections)


def _clean_up_failed(plan: Plan) -> str | None:
    """Keep a failed build's dead letters (where they now are, or None) and remove its build folder."""
    try:
        kept = keep_dead_letters(plan.paths.root, plan.config.out)
    except OSError as err:  # e.g. a full disk: the dead letters go with the build folder
        logger.error("cannot keep the failed build's dead letters (%s)", err)
        kept = None
    logger.error("build failed; removing the temporary directory %s", plan.paths.root)
    remove_tree(plan.paths.root)
    return kept


def move_output(plan: Plan) -> None:
    """Re-check ``--out`` (it may have changed during the build) and move the finished build onto it."""
    config = plan.config
    if plan.lock is None:
        move_into_place(plan.paths.root, config.out, PENDING_MANIFEST)
        return
    problem = output_problem(config.out, overwrite=config.overwrite, inputs=plan.inputs)
    try:
        if problem is not None:
            raise OutputError(problem)
        replace_directory(plan.paths.root, config.out, COMMAND)
    except OutputError as err:
        raise InputError(str(err)) from None


def _part_files(parts_dir: str) -> list[str]:
    """The part files phase 1 committed (none when no document was aligned)."""
    listing = join_path(parts_dir, PART_LIST)
    if not FileSystems.exists(listing):
        return []
    names: list[str] = json.loads(read_bytes(listing))
    return names


def _inputs(plan: Plan) -> list[InputFile]:
    """The manifest's inputs: the KG files (as the ``--kg-index`` recorded them, when one is used) and the
    documents, with size and sha256."""
    files = input_files(plan.kg_files, plan.doc_files)
    if plan.kg_index is None:
        return files
    kg = [
        InputFile(path=str(e["path"]), role="kg", bytes=int(e["bytes"]), sha256=str(e["sha256"]))
        for e in plan.kg_index.inputs
    ]
    return kg + files


def _build_config(plan: Plan) -> dict[str, Any]:
    """The manifest's ``build_config``: the flags, the task builders' settings, the runner and the identity of
    a ``--kg-index`` (the sha256 of its manifest)."""
    config, beam_args = plan.config, plan.beam_args
    data = config.flags()
    if plan.kg_index is not None:
        data["kg_index_manifest_sha256"] = plan.kg_index.manifest_sha256
    data["tasks"] = json.loads(json.dumps(asdict(config.tasks), default=str))
    data["runner"] = runner_name(beam_args)
    return data


def _verify(out: str) -> None:
    """``kgtext inspect --verify`` of the result (local outputs only)."""
    if "://" in out:
        return
    problems = CorpusReader(out).verify()
    if problems:
        raise RuntimeError(f"{out}: the built corpus fails verification: {'; '.join(map(str, problems))}")
    logger.info("verified %s", out)


BEAM_NOISE = (
    "No semi_persistent_directory found",
    "Discarding unparseable args",
    "apitools not found",
)
"""Warnings every Beam SDK worker repeats at start-up that say nothing about the build (the job service
forwards them once more as ``Worker: severity: WARN ... message: ...``)."""


def _not_beam_noise(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return not any(text in message for text in BEAM_NOISE)


def quiet_beam_logs() -> None:
    """Beam logs every string type hint (``from __future__ import annotations``) at INFO: keep WARNING,
    and drop the start-up warnings its workers repeat (:data:`BEAM_NOISE`)."""
    for name in ("apache_beam.typehints", "apache_beam.runners", "apache_beam.io"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("apache_beam.runners.portability.local_job_service", "apache_beam.options.pipeline_options"):
        logger_ = logging.getLogger(name)
        if _not_beam_noise not in logger_.filters:
            logger_.addFilter(_not_beam_noise)


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext build-corpus`` (see ``--help``)."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    tune_malloc()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_beam_logs()
    try:
        result = build_corpus(args.config, args.beam_args)
    except InputError as err:
        sys.stderr.write(f"kgtext build-corpus: error: {err}\n")
        raise SystemExit(2) from None
    sys.stdout.write(summary_table(result.manifest, result.timings) + "\n")


if __name__ == "__main__":
    main()
