"""kgtext finetune: relation / classification / tokens heads on real fixtures, bad records, the out folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from kgtext.corpus.records import Span
from kgtext.corpus.tasks.tokenizer import Tokenizer
from kgtext.model.finetune import split_for_finetuning
from kgtext.model.use.finetune import base_model, main, train
from kgtext.model.use.finetune_args import parse_args
from kgtext.model.use.finetune_data import (
    FinetuneDataError,
    FinetuneTask,
    RelationInput,
    bio_spans,
    encode,
    label_set,
    mark_entities,
    read_examples,
)
from kgtext.model.use.load import load

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FEWREL = {split: FIXTURES / "finetune" / f"fewrel_{split}.jsonl" for split in ("train", "valid", "test")}


def _args(run: Path | str, out: Path, task: str, files: dict[str, Path], *extra: str):  # noqa: ANN202
    return parse_args(
        ["--checkpoint", str(run), "--task", task, "--out", str(out), "--threads", "1",
         *sum((["--" + k, str(v)] for k, v in files.items()), []), *extra]
    )  # fmt: skip


def test_relation_classification_beats_the_majority_baseline(tiny_run: Path, tmp_path: Path) -> None:
    """FewRel (4 relations, 30/10/10 each) on the 6-step tiny checkpoint: well above the majority class."""
    metrics = train(_args(tiny_run, tmp_path / "ft", "relation", FEWREL, "--epochs", "8"))
    assert metrics["labels"] == ["P206", "P412", "P59", "P641"]
    assert metrics["test"]["accuracy"] > metrics["majority_baseline"]["accuracy"] + 0.2
    assert metrics["examples"] == {"train": 120, "valid": 40, "test": 40}  # every example, none skipped
    assert metrics["cut"] == {"train": 9, "valid": 2, "test": 3}
    assert metrics["unfittable"] == {"train": 0, "valid": 1, "test": 1}  # counted wrong, not skipped
    written = json.loads((tmp_path / "ft" / "metrics.json").read_text(encoding="utf-8"))
    assert written["test"] == metrics["test"]
    assert set(written["valid"]) == {"accuracy", "macro_f1", "accuracy_fitting", "macro_f1_fitting"}
    assert (tmp_path / "ft" / "model.pt").is_file() and (
        tmp_path / "ft" / "tokenizer" / "spm.model"
    ).is_file()


def test_linear_probe_trains_the_head_alone(tiny_run: Path, tmp_path: Path) -> None:
    """--linear-probe: the saved model's pre-trained part equals the checkpoint's; the head still learns."""
    metrics = train(
        _args(tiny_run, tmp_path / "probe", "relation", FEWREL, "--epochs", "8", "--linear-probe")
    )
    assert metrics["linear_probe"] is True and metrics["freeze_universal"] is False
    assert metrics["test"]["accuracy"] > metrics["majority_baseline"]["accuracy"] + 0.1
    before = split_for_finetuning(load(tiny_run).model, "nlu").state_dict()
    saved = torch.load(tmp_path / "probe" / "model.pt", weights_only=True)["state_dict"]
    base = {k.removeprefix("base."): v for k, v in saved.items() if k.startswith("base.")}
    assert base.keys() == before.keys() and all(torch.equal(base[k], before[k]) for k in before)
    with pytest.raises(SystemExit):
        _args(tiny_run, tmp_path / "x", "relation", FEWREL, "--linear-probe", "--freeze-universal")


def _redocred_token_records(path: Path) -> None:
    """Re-DocRED sentences with their typed mentions as ``tokens`` records (one per sentence)."""
    docs = json.loads((FIXTURES / "tasks" / "redocred_dev_first12.json").read_text(encoding="utf-8"))
    lines = []
    for doc in docs:
        for sid, words in enumerate(doc["sents"]):
            starts, offset = [], 0
            for w in words:
                starts.append(offset)
                offset += len(w) + 1
            text = " ".join(words)
            spans = {
                (starts[m["pos"][0]], starts[m["pos"][1] - 1] + len(words[m["pos"][1] - 1]), m["type"])
                for entity in doc["vertexSet"]
                for m in entity
                if m["sent_id"] == sid
            }
            kept: list[tuple[int, int, str]] = []
            for s in sorted(spans):
                if not kept or s[0] >= kept[-1][1]:
                    kept.append(s)
            lines.append({"text": text, "spans": [{"start": a, "end": b, "label": t} for a, b, t in kept]})
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")


def test_token_classification_reports_span_metrics(tiny_run: Path, tmp_path: Path) -> None:
    records = tmp_path / "mentions.jsonl"
    _redocred_token_records(records)
    files = {"train": records, "valid": records, "test": records}
    # lr 1e-3: from the tiny recipe's N(0, 1) embeddings and N(0, 0.05) weights, 2e-3 overshoots (0.465
    # against the majority's 0.647; docs/TRAINING.md, "The recipe").
    metrics = train(_args(tiny_run, tmp_path / "ft", "tokens", files, "--epochs", "2", "--lr", "1e-3"))
    assert set(metrics["test"]) == {"precision", "recall", "f1", "accuracy"}
    assert {"B-PER", "I-PER", "B-LOC", "B-TIME", "B-NUM", "B-ORG", "B-MISC"} <= set(metrics["labels"])
    assert metrics["test"]["accuracy"] >= metrics["majority_baseline"]["accuracy"] - 0.05


def test_classification_with_text_pairs_from_scratch(tiny_run: Path, tmp_path: Path) -> None:
    """--checkpoint none trains the same head on a fresh tiny model (the ablations' control)."""
    rows = [json.loads(line) for line in FEWREL["train"].read_text(encoding="utf-8").splitlines()]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "".join(
            json.dumps(
                {"text": r["text"][r["head"][0] : r["head"][1]], "text_pair": r["text"], "label": r["label"]}
            )
            + "\n"
            for r in rows[::3]
        ),
        encoding="utf-8",
    )
    files = {"train": pairs, "valid": pairs, "test": pairs}
    spm = tiny_run / "tokenizer" / "spm.model"
    metrics = train(
        _args("none", tmp_path / "ft", "classification", files, "--epochs", "1", "--tokenizer", str(spm))
    )
    assert metrics["checkpoint"] == "none" and 0.0 <= metrics["test"]["macro_f1"] <= 1.0


def test_architecture_of_builds_the_checkpoints_model_with_fresh_weights(
    tiny_run: Path, tmp_path: Path
) -> None:
    """--checkpoint none --architecture-of RUN: RUN's config and vocabulary, not its weights (like for like)."""
    args = _args("none", tmp_path / "ft", "relation", FEWREL, "--architecture-of", str(tiny_run))
    model, tok, source, tokenizer_path = base_model(args)
    loaded = load(tiny_run)
    assert source == "none" and model.config == loaded.model.config
    assert (
        tokenizer_path == tiny_run / "tokenizer" / "spm.model"
        and tok.vocab_size == loaded.tokenizer.vocab_size
    )
    trained, fresh = loaded.model.state_dict(), model.state_dict()
    assert trained.keys() == fresh.keys()
    assert not torch.equal(trained["embed.word.weight"], fresh["embed.word.weight"])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "", "head": [0, 1], "tail": [1, 2], "label": "P1"}', "field 'text' is empty"),
        (
            '{"text": "Rome is in Italy", "head": [0, 4], "tail": [11, 99], "label": "P1"}',
            "tail span [11, 99] is out of range",
        ),
        ('{"text": "Rome is in Italy", "head": [0, 6], "tail": [3, 9], "label": "P1"}', "cross"),
        ('{"text": "Rome is in Italy", "head": [0, 4], "label": "P1"}', "'tail' must be [start, end]"),
        ('{"text": "Rome is in Italy", "head": [0, 4], "tail": [11, 16]}', "field 'label'"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_relation_records_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"text": "Rome is in Italy", "head": [0, 4], "tail": [11, 16], "label": "P17"}\n' + line + "\n"
    )
    with pytest.raises(
        FinetuneDataError, match=rf"bad\.jsonl:2: .*{message}".replace("[", r"\[").replace("]", r"\]")
    ):
        read_examples(path, FinetuneTask.RELATION)


def test_overlapping_token_spans_and_unknown_test_labels_are_errors(tiny_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "tokens.jsonl"
    bad.write_text(json.dumps({"text": "Rome Italy", "spans": [{"start": 0, "end": 6, "label": "LOC"},
                                                              {"start": 5, "end": 10, "label": "LOC"}]}) + "\n")  # fmt: skip
    with pytest.raises(FinetuneDataError, match=r"tokens\.jsonl:1: spans \[0, 6\] and \[5, 10\] overlap"):
        read_examples(bad, FinetuneTask.TOKENS)
    test = tmp_path / "test.jsonl"
    test.write_text(
        json.dumps({"text": "Lyra is a constellation", "head": [0, 4], "tail": [10, 23], "label": "P999"})
        + "\n"
    )
    files = {**FEWREL, "test": test}
    with pytest.raises(
        FinetuneDataError, match=r"test\.jsonl: label 'P999' .* does not occur in the training file"
    ):
        train(_args(tiny_run, tmp_path / "ft", "relation", files))


def test_encoding_keeps_head_and_tail_spans_exact(tiny_run: Path) -> None:
    tok = Tokenizer.load(tiny_run / "tokenizer" / "spm.model")
    [example, *_] = read_examples(FEWREL["test"], FinetuneTask.RELATION)
    encoded = encode(
        example,
        FinetuneTask.RELATION,
        tok,
        label_set(read_examples(FEWREL["train"], FinetuneTask.RELATION), FinetuneTask.RELATION),
    )
    assert example.head is not None and example.tail is not None
    assert (
        tok.decode(encoded.input_ids[slice(*encoded.head)])
        == example.text[slice(*example.head)]
        == "Zeta Microscopii"
    )
    assert tok.decode(encoded.input_ids[slice(*encoded.tail)]) == example.text[slice(*example.tail)]
    first_sep = encoded.input_ids.index(tok.sep_id)
    assert encoded.segment_ids == [0] * (first_sep + 1) + [1] * (len(encoded.input_ids) - first_sep - 1)


def test_bio_spans_decoding() -> None:
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    assert bio_spans([-100, 1, 2, 0, 3, 4, 4, 2, -100], labels) == {
        (1, 3, "PER"),
        (4, 7, "LOC"),
        (7, 8, "PER"),
    }


def test_out_folder_is_never_overwritten_blindly(
    tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ft"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = ["--checkpoint", str(tiny_run), "--task", "relation", "--out", str(out),
            *sum((["--" + k, str(v)] for k, v in FEWREL.items()), [])]  # fmt: skip
    with pytest.raises(SystemExit):
        main(argv)
    assert "'notes.txt', which kgtext finetune did not write" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"


def test_entity_markers_wrap_head_and_tail_in_the_sentence(tiny_run: Path) -> None:
    tok = Tokenizer.load(tiny_run / "tokenizer" / "spm.model")
    text, head, tail = mark_entities("Alioth is in Ursa Major .", Span(0, 6), Span(13, 23))
    assert text == "@ Alioth @ is in # Ursa Major # ."
    assert (text[slice(*head)], text[slice(*tail)]) == ("Alioth", "Ursa Major")
    nested = mark_entities("Ursa Major", Span(0, 10), Span(5, 10))
    assert nested[0] == "@ Ursa # Major # @" and nested[0][slice(*nested[2])] == "Major"
    example = read_examples(FEWREL["test"], FinetuneTask.RELATION)[0]
    labels = label_set(read_examples(FEWREL["train"], FinetuneTask.RELATION), FinetuneTask.RELATION)
    encoded = encode(example, FinetuneTask.RELATION, tok, labels, RelationInput.MARKERS)
    assert tok.decode(encoded.input_ids[slice(*encoded.head)]) == "Zeta Microscopii"
    assert set(encoded.segment_ids) == {0} and encoded.input_ids[0] == tok.cls_id
