"""The dataset card ``README.md`` of a corpus directory: Hugging Face ``configs:`` metadata plus a summary.

With the card, ``datasets.load_dataset(CORPUS_DIR, "uktp")`` loads one dataset's Arrow stream shards with
the splits ``train`` and ``validation``; the card lists every dataset of the manifest. It is written by the
build and listed in the manifest's ``files`` (so ``--overwrite`` and ``inspect --verify`` know it).
"""

from __future__ import annotations

from kgtext.corpus.manifest import Manifest
from kgtext.corpus.sharding import SPLITS

CARD_NAME = "README.md"
HF_SPLIT = {"train": "train", "valid": "validation"}
"""kgtext split folder -> the Hugging Face split name."""

DESCRIPTIONS = {
    "aligned": "sentences with their entity mentions and aligned KG triples",
    "kmlm": "knowledge-masked language modelling (ERNIE 3.0 KMLM)",
    "uktp": "universal knowledge-text prediction: a triple and its sentence (UKTP)",
    "sr": "sentence reordering",
    "sd": "sentence distance",
    "dlm": "document language modelling streams",
    "names": "IRI -> display label of the entities and relations in aligned/ and uktp/",
}


def dataset_card(manifest: Manifest) -> str:
    """The card's text for ``manifest`` (deterministic: the same manifest gives the same bytes)."""
    lines = ["---", "configs:"]
    for dataset in manifest.datasets:
        # datasets refuses a split (or a config) without rows: only splits that have some are listed.
        splits = [s for s in SPLITS if sum(info.rows for info in manifest.shards(dataset, s))]
        if not splits:
            continue
        lines += [f"- config_name: {dataset}", "  data_files:"]
        for split in splits:
            lines += [f"  - split: {HF_SPLIT[split]}", f"    path: {dataset}/{split}/*.arrow"]
    lines += ["---", "", "# kgtext corpus", ""]
    lines += [
        "Built by kgtext from a knowledge graph and documents: ERNIE 3.0 pre-training data as Arrow IPC",
        "stream shards (`manifest.json` lists every file with its sha256; `kgtext inspect` shows it).",
        "",
        "| dataset | what | train rows | validation rows |",
        "|---|---|---:|---:|",
    ]
    for dataset in manifest.datasets:
        rows = [sum(s.rows for s in manifest.shards(dataset, split)) for split in SPLITS]
        lines.append(f"| {dataset} | {DESCRIPTIONS.get(dataset, '')} | {rows[0]:,} | {rows[1]:,} |")
    lines += [
        "",
        "Load one dataset with Hugging Face `datasets` (a dataset or split without rows is not listed above):",
        "",
        "```python",
        "from datasets import load_dataset",
        'uktp = load_dataset("path/to/this/corpus", "uktp")  # splits: train, validation',
        "```",
        "",
        "`kgtext export CORPUS --format parquet --out DIR` writes Parquet for pyarrow.dataset, DuckDB and polars.",
        "Token ids refer to `tokenizer/spm.model` (SentencePiece; `tokenizer/spm.vocab` lists the pieces).",
        "",
    ]
    return "\n".join(lines)
