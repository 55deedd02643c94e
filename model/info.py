"""``kgtext model-info --preset NAME``: a model preset -> its shape and parameter count per module (stdout).

The model is built on the meta device, so even ``ernie3-10b`` costs no memory and no initialisation time.
"""

from __future__ import annotations

import argparse
import logging

import torch

from model.config import ModelConfig
from model.ernie import Ernie3Model
from model.presets import PRESETS, get_preset

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


def describe(name: str, vocab_size: int | None = None) -> str:
    """The text ``model-info`` prints for preset ``name`` (optionally with another vocabulary size)."""
    config = get_preset(name) if vocab_size is None else get_preset(name, vocab_size=vocab_size)
    with torch.device("meta"):
        model = Ernie3Model(config)
    counts = model.num_parameters(by_module=True)
    lines = [
        f"preset {name}: vocab {config.vocab_size}, tgt_len {config.tgt_len}, mem_len {config.mem_len}, "
        f"recurrence {config.recurrence.value}, {'pre' if config.pre_lnorm else 'post'}-LN, "
        f"token heads {'tied' if config.tie_token_heads else 'untied'}",
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
    parser = argparse.ArgumentParser(prog="kgtext model-info", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS), help="model preset name")
    parser.add_argument(
        "--vocab-size", type=int, default=None, help="vocabulary size (default: the preset's, e.g. 40000)"
    )
    args = parser.parse_args(argv)
    print(describe(args.preset, args.vocab_size))


if __name__ == "__main__":
    main()
