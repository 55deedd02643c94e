"""Benchmark: the five task builders and span-exact tokenization vs SentencePiece's bare encode.

Inputs: the 500 Re-DocRED dev documents of ``../shared/data/redocred_dev`` (about 4,100 real Wikipedia
sentences, mentions from the gold entity clusters, triples from the gold facts whose head and tail share a
sentence, relation labels from ``../shared/data/wikidata_property_labels``), and an 8,000-piece unigram
model trained on those sentences. Every figure is CPU seconds of this one process (rows per second per core; SentencePiece encodes one text per call, no threads). The floor
is ``SentencePieceProcessor.encode`` of each sentence (one call per sentence, as a builder needs); a
builder's ratio is its input sentences per second over that floor (>= 0.5 means building adds no more time
than the encode itself). Skips with a note when ``../shared/data`` is absent. Run: ``python -m bench.bench_tasks``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import sentencepiece as spm

from kgtext.common.jsonl import split_lines
from kgtext.corpus.records import AlignedDocument
from kgtext.corpus.tasks import dlm, kmlm, masking, sd, sr, uktp
from kgtext.corpus.tasks.config import TasksConfig
from kgtext.corpus.tasks.tokenizer import Tokenizer, TokenizerConfig, train_tokenizer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
WORK = ROOT / "bench" / "_work" / "tasks"
REPEATS = 3

logger = logging.getLogger(__name__)


def load_documents() -> tuple[list[AlignedDocument], dict[str, str]]:
    """The Re-DocRED dev documents as aligned documents and the IRI -> label map."""
    from tests.tasks.fixture_data import redocred_document  # the same conversion the tests use

    labels: dict[str, str] = {}
    for line in split_lines(
        (SHARED / "wikidata_property_labels" / "wikidata-properties.csv").read_text(encoding="utf-8")
    ):
        iri, kind, value = line.split("\t")
        if kind.endswith("rdf-schema#label"):
            labels[iri] = json.loads(value.replace("\\u", "\\u"))
    raw = json.loads((SHARED / "redocred_dev" / "dev_revised.json").read_text(encoding="utf-8"))
    return [redocred_document(d, i, labels) for i, d in enumerate(raw)], labels


def best(fn: Callable[[], int]) -> tuple[int, float]:
    """(items, best seconds) over :data:`REPEATS` runs of ``fn`` (which returns its item count)."""
    times, items = [], 0
    for _ in range(REPEATS):
        start = time.process_time()
        items = fn()
        times.append(time.process_time() - start)
    return items, min(times)


def _measure(
    docs: list[AlignedDocument], labels: dict[str, str], tok: Tokenizer, sp: spm.SentencePieceProcessor
) -> list[tuple[str, int, int, float]]:
    """(name, input sentences, output rows, seconds) per measured step."""
    cfg = TasksConfig()
    sentences = [s for d in docs for s in d.sentences]
    texts = [" " + s.text for s in sentences]
    negatives = [s.text for s in docs[-1].sentences]
    kmlm_rows = [r for s in sentences for r in kmlm.build_kmlm(s, tok, cfg.kmlm)]
    sr_rows = [r for d in docs for r in sr.build_sr(d, tok, cfg.sr)]
    steps: dict[str, Callable[[], int]] = {
        "SentencePiece bare encode (floor)": lambda: sum(1 for t in texts if sp.encode(t) is not None),
        "tokenization with exact spans": lambda: sum(
            len(tok.encode_spans(s.text, [(m.start, m.end) for m in s.mentions]).ids) > 0 for s in sentences
        ),
        "kmlm": lambda: sum(len(kmlm.build_kmlm(s, tok, cfg.kmlm)) for s in sentences),
        "uktp": lambda: sum(len(uktp.build_uktp(s, labels, tok, cfg.uktp)) for s in sentences),
        "sr": lambda: sum(len(sr.build_sr(d, tok, cfg.sr, seed=cfg.seed)) for d in docs),
        "sd": lambda: sum(len(sd.build_sd(d, negatives, tok, cfg.sd, seed=cfg.seed)) for d in docs),
        "dlm": lambda: sum(len(dlm.build_dlm(d, tok, cfg.dlm)) for d in docs),
        "masking: mask_units (per kmlm row)": lambda: sum(
            masking.mask_units(
                r.input_ids,
                r.units,
                seed=0,
                epoch=0,
                row_index=i,
                mask_id=tok.mask_id,
                random_range=(tok.first_normal_id, tok.vocab_size),
            ).labels.size
            > 0
            for i, r in enumerate(kmlm_rows)
        ),
        "masking: permute_sr (per sr row)": lambda: sum(
            masking.permute_sr(r.input_ids, r.segment_starts, seed=0, epoch=0, row_index=i).label >= 0
            for i, r in enumerate(sr_rows)
        ),
    }
    out = []
    for name, fn in steps.items():
        rows, seconds = best(fn)
        inputs = (
            len(kmlm_rows) if "mask_units" in name else len(sr_rows) if "permute" in name else len(sentences)
        )
        out.append((name, inputs, rows, seconds))
    return out


def run() -> str:
    """Markdown section with rows/s per builder and its ratio to the bare encode."""
    title = "## Task builders (corpus/tasks)"
    if not (SHARED / "redocred_dev" / "dev_revised.json").exists():
        return f"{title}\n\nSkipped: {SHARED}/redocred_dev (the shared Re-DocRED dev set) is absent.\n"
    docs, labels = load_documents()
    start = time.process_time()
    path = train_tokenizer(
        [s.text for d in docs for s in d.sentences], str(WORK / "redocred8k"), TokenizerConfig()
    )
    train_s = time.process_time() - start
    tok = Tokenizer.load(path)
    sp = spm.SentencePieceProcessor(model_file=path)
    results = _measure(docs, labels, tok, sp)
    floor = results[0][1] / results[0][3]
    lines = [
        title,
        "",
        f"One core, {len(docs)} Re-DocRED dev documents / {results[0][1]} sentences, 8k unigram model "
        f"(trained in {train_s:.1f} CPU s). Ratio = input sentences/s over the bare encode's (higher is better; "
        "target >= 0.5). Masking rows are per row (ratio not applicable).",
        "",
        "| step | inputs | rows out | rows/s | input sentences/s | ratio to bare encode |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, inputs, rows, seconds in results:
        per_s = inputs / seconds
        ratio = f"{per_s / floor:.2f}" if "masking" not in name else "n/a"
        lines.append(f"| {name} | {inputs} | {rows} | {rows / seconds:,.0f} | {per_s:,.0f} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Print the benchmark section."""
    logging.basicConfig(level=logging.INFO)
    print(run())


if __name__ == "__main__":
    main()
