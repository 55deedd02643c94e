"""``kgtext model-info --preset NAME``: a model preset -> its shape and parameter count per module (stdout).

    kgtext model-info --preset NAME [--corpus DIR | --vocab-size N]

The vocabulary size is the preset's, ``--vocab-size N``, or with ``--corpus DIR`` the corpus tokenizer's
as recorded in its manifest: the source ``kgtext pretrain --corpus DIR`` sizes the model from
(``kgtext.model.train.setup.model_config_for``), so the count is that of the model pretrain builds.
The model is built on the meta device, so even ``ernie3-10b`` costs no memory and no initialisation time.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import NamedTuple

import torch

from kgtext.common.cli_parser import HelpfulParser
from kgtext.corpus.errors import CorpusError
from kgtext.corpus.manifest import MANIFEST_NAME
from kgtext.corpus.reader import CorpusReader
from kgtext.model.config import MAX_VOCAB_SIZE, ModelConfig
from kgtext.model.ernie import Ernie3Model
from kgtext.model.presets import PRESETS, get_preset

logger = logging.getLogger(__name__)

_MODULE_NOTES = {
    "embed": "token + segment embeddings",
    "universal": "universal Transformer-XL stack (shared)",
    "nlu": "NLU Transformer-XL stack (+ input projection)",
    "nlg": "NLG Transformer-XL stack (+ input projection)",
    "mlm_head": "masked-token head (KMLM, UKTP)",
    "lm_head": "next-token head (DLM)",
    "cls_heads": "pooler + SR + SD heads",
}


def _stack_line(name: str, config: ModelConfig) -> str:
    stack = getattr(config, name)
    return f"{name}: {stack.n_layer} layers x d_model {stack.d_model}, {stack.n_head} heads, d_inner {stack.d_inner}"


class Vocab(NamedTuple):
    """A vocabulary size for the model, and where it came from (one line of ``model-info``'s output)."""

    size: int
    pad_id: int
    source: str


def corpus_vocab(corpus_dir: Path) -> Vocab:
    """The corpus tokenizer's vocabulary size and [PAD] id, from the manifest (as ``kgtext pretrain``)."""
    reader = CorpusReader(corpus_dir)
    tok = reader.manifest.tokenizer
    if tok is None:
        raise CorpusError(
            str(reader.root / MANIFEST_NAME), "has no tokenizer entry: cannot size the vocabulary"
        )
    source = (
        f"from the tokenizer in {reader.root / MANIFEST_NAME} ({tok.path}), "
        f"as kgtext pretrain --corpus {corpus_dir} sizes it"
    )
    return Vocab(tok.vocab_size, tok.special_ids.get("[PAD]", 0), source)


def describe(name: str, vocab_size: int | None = None, vocab: Vocab | None = None) -> str:
    """The text ``model-info`` prints for preset ``name`` (optionally with another vocabulary size, or the
    vocabulary of a corpus: ``vocab``)."""
    if vocab is None:
        preset = get_preset(name)
        source = "the preset's (kgtext pretrain uses the corpus's: --corpus DIR)"
        if vocab_size is not None:
            vocab = Vocab(vocab_size, preset.pad_id, "from --vocab-size")
        else:
            vocab = Vocab(preset.vocab_size, preset.pad_id, source)
    config = get_preset(name, vocab_size=vocab.size, pad_id=vocab.pad_id)
    with torch.device("meta"):
        model = Ernie3Model(config)
    counts = model.num_parameters(by_module=True)
    lines = [
        f"preset {name}: vocab {config.vocab_size}, tgt_len {config.tgt_len}, mem_len {config.mem_len}, "
        f"recurrence {config.recurrence.value}, {'pre' if config.pre_lnorm else 'post'}-LN, "
        f"token heads {'tied' if config.tie_token_heads else 'untied'}",
        f"vocab size {vocab.size}: {vocab.source}",
        *(_stack_line(stack, config) for stack in ("universal", "nlu", "nlg")),
        "",
        f"{'module':<10} {'parameters':>16}  {'share':>6}  what",
    ]
    total = counts.pop("total")
    for module, count in counts.items():
        lines.append(f"{module:<10} {count:>16,}  {count / total:>6.1%}  {_MODULE_NOTES.get(module, '')}")
    size = f"{total / 1e9:.2f} B" if total >= 1e9 else f"{total / 1e6:.2f} M"
    lines.append(f"{'total':<10} {total:>16,}  {1:>6.1%}  ({size})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the parameter breakdown of a model preset."""
    parser = HelpfulParser(prog="kgtext model-info", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS), help="model preset name")
    vocab = parser.add_mutually_exclusive_group()
    vocab.add_argument(
        "--vocab-size",
        type=int,
        minimum=2,
        maximum=MAX_VOCAB_SIZE,
        default=None,
        help="vocabulary size (default: the preset's, e.g. 40000)",
    )
    vocab.add_argument(
        "--corpus",
        type=Path,
        default=None,
        metavar="DIR",
        help="size the vocabulary from this corpus's tokenizer, as kgtext pretrain --corpus DIR does",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        print(describe(args.preset, args.vocab_size, corpus_vocab(args.corpus) if args.corpus else None))
    except (CorpusError, ValueError) as err:
        print(f"kgtext model-info: {err}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
