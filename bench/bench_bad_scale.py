"""Scale bad inputs (the scale issue): a hot entity that every document names, and one very long document.

Reads ../shared/data (REBEL sample), like bench_pipeline. In-process DirectRunner builds in fresh
processes, peak RSS (VmHWM) and wall time, compared in the same run:

- **Hot entity**: the REBEL sample replicated 10x with rewritten ids (10,000 documents), once as is and
  once with every document's subject (``uri``) and first entity set to one KG entity that has facts. No
  step of the build is keyed by entity (phase 1 looks each document's candidates up in memory-mapped
  index files), so the hot build should cost what the plain one does.
- **Long document**: one document made of 50,000 REBEL sentences (replicated with tags), beside the 1x
  sample. The default ``max_document_chars`` (1,000,000) drops it as ``too_long`` (counted in the manifest,
  a dead letter): the build's memory must not grow with it.

The KG far larger than the documents need (100x more entities than are mentioned) is bench_pipeline's
padded-KG series (256 copies of the REBEL statements under rewritten IRIs).
"""

from __future__ import annotations

import json

from bench.bench_pipeline import REPO, SHARED, _mib, _replicate_rebel, make_inputs, run_build
from kgtext.common.jsonl import split_lines
from kgtext.corpus.schemas import AlignmentLevel
from kgtext.corpus.stats import StatFamily, StatKey

WORK = REPO / "bench" / "_work" / "bad_scale"
HOT = "Q30"
"""The United States: an entity of the REBEL sample's KG with many facts."""


def _rebel_lines() -> list[str]:
    return split_lines((SHARED / "rebel_sample" / "sample.jsonl").read_text(encoding="utf-8"))


def _kg() -> list[str]:
    return [str(SHARED / "rebel_sample" / f) for f in ("kg_statements.nt", "anchor_aliases.nt")]


def make_hot(copies: int, hot: bool) -> dict[str, list[str]]:
    """The REBEL sample x ``copies``; with ``hot``, every document's subject and first entity is Q30."""
    path = WORK / f"rebel_x{copies}{'_hot' if hot else ''}.jsonl"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as out:
            for k in range(copies):
                for line in _rebel_lines():
                    doc = json.loads(_replicate_rebel(line, k))
                    if hot:
                        doc["uri"] = HOT
                        if doc.get("entities"):
                            doc["entities"][0]["uri"] = HOT
                    out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    # The KG is the sample's, not replicated: replicated entities have no facts, the hot one has.
    return {"kg": _kg(), "docs": [str(path)]}


def make_long(sentences: int) -> dict[str, list[str]]:
    """The 1x bench inputs plus one document of ``sentences`` REBEL sentences."""
    base = make_inputs(1)
    path = WORK / f"long_{sentences}.jsonl"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        texts: list[str] = []
        k = 0
        while len(texts) < sentences:
            for line in _rebel_lines():
                doc = json.loads(line)
                texts += [f"{s.strip()} r{k}" for s in doc["text"].split(". ") if s.strip()]
            k += 1
        doc = {
            "docid": "long-document",
            "uri": "Qlong",
            "title": "A long document",
            "text": ". ".join(texts[:sentences]) + ".",
        }
        path.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    return {"kg": base["kg"], "docs": [*base["docs"], str(path)]}


def run() -> str:
    direct = ["--runner=DirectRunner"]
    plain = run_build(make_hot(10, hot=False), WORK / "out" / "plain", direct)
    hot = run_build(make_hot(10, hot=True), WORK / "out" / "hot", direct)
    base = run_build(make_inputs(1), WORK / "out" / "base", direct)
    long = run_build(make_long(50_000), WORK / "out" / "long", direct)
    rows = []
    for label, r in (
        ("10,000 documents, distinct subjects", plain),
        (f"10,000 documents, every subject {HOT}", hot),
    ):
        s = r["stats"]
        rows.append(
            f"| {label} | {s.get(StatKey.DOCUMENTS_KEPT, 0)} | {s.get(StatKey.ALIGNED_SENTENCES, 0)} | "
            f"{StatFamily.ALIGNED_TRIPLES.total(s, AlignmentLevel)} | "
            f"{r['timings']['total']:.1f} | {_mib(r['rss_self_kb'])} |"
        )
    long_stats = long["stats"]
    dropped = {k: v for k, v in long_stats.items() if k.startswith(StatFamily.DOCUMENTS_DROPPED.prefix)}
    return "\n".join(
        [
            "## Scale bad inputs (bench_bad_scale)",
            "",
            "In-process DirectRunner builds, fresh processes, same run (REBEL sample from ../shared/data).",
            "",
            "| input | documents kept | aligned sentences | aligned triples | total s | peak RSS MiB |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Hot entity / distinct: **{hot['timings']['total'] / plain['timings']['total']:.2f}x** the time, "
            f"**{hot['rss_self_kb'] / plain['rss_self_kb']:.2f}x** the peak RSS (no step is keyed by entity).",
            "",
            f"One 50,000-sentence document beside the 1x bench inputs: peak RSS {_mib(long['rss_self_kb'])} MiB "
            f"against {_mib(base['rss_self_kb'])} MiB without it ({long['rss_self_kb'] / base['rss_self_kb']:.2f}x); "
            f"documents kept {long_stats.get(StatKey.DOCUMENTS_KEPT, 0)} (1x: {base['stats'].get(StatKey.DOCUMENTS_KEPT, 0)}); "
            f"dropped counts {json.dumps(dropped, sort_keys=True)}.",
            "",
            "The KG with 100x more entities than the documents mention: bench_pipeline's padded-KG series.",
        ]
    )


if __name__ == "__main__":
    print(run())
