"""kgtext generate: seeded sampling, greedy decoding, prompts longer than a segment, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kgtext.model.use.generate import SamplingConfig, feed, filtered_logits, generate_ids, main
from kgtext.model.use.load import load

PROMPT = "Lark Force was an Australian Army formation established in March 1941 during World War II"


def test_a_seed_always_gives_the_same_text(tiny_run: Path) -> None:
    loaded = load(tiny_run)
    ids = loaded.tokenizer.encode(PROMPT)
    draw = lambda seed: generate_ids(  # noqa: E731
        loaded.model, ids, max_new_tokens=12, sampling=SamplingConfig(1.0, 20, 0.9), seed=seed, stop_id=None
    )
    assert draw(7) == draw(7) and len(draw(7)) == 12
    assert len({tuple(draw(s)) for s in range(5)}) > 1


def test_greedy_decoding_is_the_argmax_of_the_fed_context(tiny_run: Path) -> None:
    """Temperature 0: each token is the argmax after feeding the prompt and the tokens so far."""
    loaded = load(tiny_run)
    ids = loaded.tokenizer.encode(PROMPT * 3)
    assert len(ids) > loaded.model.config.tgt_len  # the prompt is fed in several segments
    new = generate_ids(
        loaded.model, ids, max_new_tokens=4, sampling=SamplingConfig(0.0), seed=0, stop_id=None
    )
    with torch.no_grad():
        logits, mems = feed(loaded.model, ids, None)
        for token in new:
            assert token == int(torch.argmax(logits))
            logits, mems = feed(loaded.model, [token], mems)


def test_the_stop_token_ends_generation(tiny_run: Path) -> None:
    loaded = load(tiny_run)
    ids = loaded.tokenizer.encode(PROMPT)

    def draw(stop: int | None) -> list[int]:
        return generate_ids(
            loaded.model, ids, max_new_tokens=8, sampling=SamplingConfig(), seed=1, stop_id=stop
        )

    sampled = draw(None)
    stop = sampled[-1]
    assert draw(stop) == sampled[: sampled.index(stop)]


def test_top_k_and_top_p_keep_the_most_likely_tokens() -> None:
    logits = torch.tensor([3.0, 1.0, 2.0, 0.0])
    assert torch.isinf(filtered_logits(logits, SamplingConfig(1.0, 2, 1.0))).tolist() == [
        False,
        True,
        False,
        True,
    ]
    probs = torch.softmax(logits, -1)  # 0.64, 0.09, 0.24, 0.03
    assert probs[0] < 0.7
    kept = ~torch.isinf(filtered_logits(logits, SamplingConfig(1.0, 0, 0.7)))
    assert kept.tolist() == [True, False, True, False]  # 0.64 < 0.7, so the next one is needed too


def test_cli_prints_the_continuation_and_rejects_bad_options(
    tiny_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--checkpoint", str(tiny_run), "--prompt", PROMPT, "--max-new-tokens", "5", "--seed", "3"])
    first = capsys.readouterr().out
    main(["--checkpoint", str(tiny_run), "--prompt", PROMPT, "--max-new-tokens", "5", "--seed", "3"])
    assert capsys.readouterr().out == first and first.strip()
    with pytest.raises(SystemExit) as exit_info:
        main(["--checkpoint", str(tiny_run), "--prompt", PROMPT, "--top-p", "0"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "kgtext generate: argument --top-p: must be in (0, 1], got 0"
    )
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(tiny_run / "nowhere"), "--prompt", PROMPT])
    assert "no such file or folder" in capsys.readouterr().err
