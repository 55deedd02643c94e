"""``kgtext generate``: continue a prompt with the NLG module and its recurrence memory.

    kgtext generate --checkpoint RUN_DIR --prompt TEXT [--max-new-tokens N] [--temperature T]
                    [--top-k K] [--top-p P] [--seed S]

The prompt is encoded as DLM documents are (SentencePiece, no [CLS]) and fed in segments of the model's
``tgt_len``, the memory carried from one to the next, as in pre-training; each new token is then one more
segment, so the model sees at most ``mem_len`` earlier positions plus the current one (Transformer-XL's
evaluation regime). Sampling: temperature (0 = greedy), then top-k, then nucleus (top-p) filtering, from a
``torch.Generator`` seeded by ``--seed``, so a seed always gives the same text. Generation stops at
``[SEP]`` (the corpus's end-of-document marker) or after ``--max-new-tokens``.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import NamedTuple

import torch
from torch import Tensor

from kgtext.common.cli_parser import HelpfulParser
from kgtext.model.ernie import Ernie3Model, Memory
from kgtext.model.use.load import CheckpointError, load


class SamplingConfig(NamedTuple):
    """How the next token is drawn from the logits."""

    temperature: float = 1.0
    """0 = greedy (argmax); otherwise logits / temperature."""
    top_k: int = 0
    """Keep the k most likely tokens (0 = all)."""
    top_p: float = 1.0
    """Keep the smallest set of most likely tokens whose probability reaches p (1 = all)."""

    def validate(self) -> None:
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"--temperature must be a finite number >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"--top-k must be >= 0, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"--top-p must be in (0, 1], got {self.top_p}")


def filtered_logits(logits: Tensor, config: SamplingConfig) -> Tensor:
    """(V,) logits with the tokens top-k / top-p drop set to -inf (temperature applied)."""
    out = logits.float() / max(config.temperature, 1e-8)
    if 0 < config.top_k < out.numel():
        kth = torch.topk(out, config.top_k).values[-1]
        out = out.masked_fill(out < kth, float("-inf"))
    if config.top_p < 1.0:
        sorted_logits, order = torch.sort(out, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        before = torch.cumsum(probs, dim=-1) - probs  # mass of the strictly more likely tokens
        drop = before >= config.top_p
        out = out.masked_fill(torch.zeros_like(drop).scatter(0, order, drop), float("-inf"))
    return out


class NonFiniteLogitsError(ValueError):
    """The model computed NaN (or +inf) logits: its weights or its inputs are broken."""


def next_token(logits: Tensor, config: SamplingConfig, generator: torch.Generator) -> int:
    """One token id drawn from (V,) ``logits`` (NonFiniteLogitsError when they hold NaN or +inf)."""
    if bool(torch.isnan(logits).any()) or bool(torch.isposinf(logits).any()):
        raise NonFiniteLogitsError("the model computed NaN or infinite logits; it cannot be sampled from")
    if config.temperature == 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(filtered_logits(logits, config), dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


def feed(model: Ernie3Model, ids: list[int], mems: Memory | None) -> tuple[Tensor, Memory]:
    """Run ``ids`` through the NLG path in ``tgt_len`` segments; (last position's logits, memory)."""
    if not ids:
        raise ValueError("nothing to feed: the prompt encodes to no token")
    seg = model.config.tgt_len
    for start in range(0, len(ids), seg):
        out = model.forward_nlg(torch.tensor([ids[start : start + seg]], dtype=torch.long), mems)
        mems = out.mems
    return model.lm_logits(out.hidden[0, -1]), out.mems  # only the last segment's last position is needed


@torch.no_grad()
def generate_ids(
    model: Ernie3Model,
    prompt_ids: list[int],
    *,
    max_new_tokens: int,
    sampling: SamplingConfig,
    seed: int,
    stop_id: int | None,
) -> list[int]:
    """The new token ids after ``prompt_ids`` (``stop_id`` ends generation and is not returned)."""
    sampling.validate()
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    logits, mems = feed(model, prompt_ids, None)
    out: list[int] = []
    for _ in range(max_new_tokens):
        token = next_token(logits, sampling, generator)
        if token == stop_id:
            break
        out.append(token)
        logits, mems = feed(model, [token], mems)
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = HelpfulParser(
        prog="kgtext generate",
        description="Continue a prompt with the pre-trained NLG module (recurrence memory across segments).",
    )
    p.add_argument(
        "--checkpoint", required=True, metavar="PATH", help="run folder, checkpoint folder or model folder"
    )
    p.add_argument("--prompt", required=True, help="the text to continue")
    p.add_argument(
        "--max-new-tokens",
        type=int,
        minimum=0,
        default=50,
        metavar="N",
        help="at most N new pieces (default 50)",
    )
    p.add_argument(
        "--temperature", type=float, minimum=0, default=1.0, metavar="T", help="0 = greedy (default 1.0)"
    )
    p.add_argument(
        "--top-k",
        type=int,
        minimum=0,
        default=0,
        metavar="K",
        help="keep the K most likely pieces (default 0: all)",
    )
    p.add_argument(
        "--top-p",
        type=float,
        exclusive_minimum=0,
        maximum=1,
        default=1.0,
        metavar="P",
        help="nucleus sampling mass, in (0, 1] (default 1.0: off)",
    )
    p.add_argument(
        "--seed",
        type=int,
        minimum=0,
        default=0,
        help="sampling seed: the same seed gives the same text (default 0)",
    )
    args = p.parse_args(argv)
    problem = utf8_problem(args.prompt)
    if problem:
        p.error(f"argument --prompt: {problem}")
    return args


def utf8_problem(text: str) -> str | None:
    """Why ``text`` (an argv string: undecodable bytes are lone surrogates) is not UTF-8, or None."""
    for index, char in enumerate(text):
        if "\udc80" <= char <= "\udcff":  # a byte the file system encoding could not decode
            return f"not valid UTF-8 (byte 0x{ord(char) - 0xDC00:02x} at character {index})"
        if "\ud800" <= char <= "\udfff":
            return f"holds a lone surrogate (U+{ord(char):04X} at character {index})"
    return None


def main(argv: list[str] | None = None) -> None:
    """Run ``kgtext generate``."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sampling = SamplingConfig(args.temperature, args.top_k, args.top_p)
    try:
        sampling.validate()
        if args.max_new_tokens < 0:
            raise ValueError(f"--max-new-tokens must be >= 0, got {args.max_new_tokens}")
        loaded = load(args.checkpoint)
        prompt_ids = loaded.tokenizer.encode(args.prompt)
        new = generate_ids(
            loaded.model,
            prompt_ids,
            max_new_tokens=args.max_new_tokens,
            sampling=sampling,
            seed=args.seed,
            stop_id=loaded.tokenizer.sep_id,
        )
    except NonFiniteLogitsError as err:
        print(f"kgtext generate: {loaded.model_file}: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    except (CheckpointError, ValueError) as err:
        print(f"kgtext generate: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    print(loaded.tokenizer.decode(new, keep_leading_space=True).lstrip() if new else "")


if __name__ == "__main__":
    main()
