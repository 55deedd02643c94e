"""Fine-tuning inputs: JSONL records -> checked examples -> token ids with exact spans (no torch here).

Record formats (one JSON object per line; offsets are code points into ``text`` as given, end exclusive, no
cleaning applied):

- ``relation``: ``{"text": str, "head": [start, end], "tail": [start, end], "label": str}``
- ``classification``: ``{"text": str, "text_pair": str (optional), "label": str}``
- ``tokens``: ``{"text": str, "spans": [{"start": int, "end": int, "label": str}, ...]}``

Every bad record is a :class:`FinetuneDataError` naming ``file:line`` (invalid JSON or UTF-8, nesting too
deep to parse, a line above :data:`MAX_RECORD_BYTES`, a missing or mistyped field, empty text, a lone
surrogate escape in a string, a span out of range, crossing spans, a test/valid label the training file
lacks). Files are read line by line through :mod:`kgtext.common.jsonl` (lines end at ``\\n`` only, so U+2028 or
U+0085 inside a string is text; memory is one line), and only regular files (no FIFO or device).

Input forms (docs/TRAINING.md, "Fine-tuning"):

- relation (``RelationInput.UKTP``, the default): the UKTP layout of pre-training without the relation,
  ``[CLS] head tail [SEP] sentence [SEP]`` (segments 0 | 1), plus the token spans of head and tail *inside
  the sentence* (exact-span encoding), so the head pools their states; ``RelationInput.MARKERS``:
  ``[CLS] ... @ head @ ... # tail # ... [SEP]`` (punctuation markers, one segment), the same pooling;
- classification: ``[CLS] text [SEP]`` or ``[CLS] text [SEP] text_pair [SEP]`` (segments 0 | 1);
- tokens: ``[CLS] text [SEP]`` with BIO tags over the pieces of each span (B- on the first piece).

An example longer than the model's ``tgt_len`` is cut to fit, never skipped (:func:`encode_fitted`), and
counted: relation keeps a window of the sentence that covers both entity spans (their markers included),
placed as centrally on them as the sentence allows; a classification pair loses pieces from the end of its
longer segment first, so both segments stay (BERT's ``truncate_seq_pair``); a single text and a tokens text
keep their first pieces (gold spans cut away still count as missed). An example that cannot fit at all (a
relation whose head and tail lie farther apart than the window) is *unfittable*: counted apart, left out of
training, and counted as wrong by the evaluation (:class:`EncodedSplit`).
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from kgtext.common.jsonl import JsonlError, has_lone_surrogate, read_json_lines
from kgtext.common.lines import IrregularFileError
from kgtext.corpus.records import Span
from kgtext.corpus.tasks.tokenizer import Tokenizer

MAX_RECORD_BYTES = 16 * 1024 * 1024
"""Longest line (bytes) of a fine-tuning file: far above any sentence or paragraph; a longer line is an
error naming ``file:line`` (read in bounded chunks, never held)."""


class FinetuneTask(enum.StrEnum):
    """What ``kgtext finetune --task`` trains."""

    RELATION = "relation"
    CLASSIFICATION = "classification"
    TOKENS = "tokens"


class RelationInput(enum.StrEnum):
    """How a relation example is laid out (``kgtext finetune --relation-input``)."""

    UKTP = "uktp"
    """``[CLS] head tail [SEP] sentence [SEP]``: pre-training's UKTP layout without the relation."""
    MARKERS = "markers"
    """``[CLS] ... @ head @ ... # tail # ... [SEP]``: punctuation entity markers in the sentence (no new
    vocabulary), one segment."""


class FinetuneDataError(ValueError):
    """A record that cannot be used; the message starts with ``file:line:``."""


class LabeledSpan(NamedTuple):
    start: int
    end: int
    label: str


class Example(NamedTuple):
    """One checked record (character offsets)."""

    text: str
    label: str = ""
    """relation / classification label ("" for tokens)."""
    text_pair: str | None = None
    head: Span | None = None
    tail: Span | None = None
    spans: tuple[LabeledSpan, ...] = ()
    """tokens: gold spans sorted by start."""


class Encoded(NamedTuple):
    """Model inputs of one example."""

    input_ids: list[int]
    segment_ids: list[int]
    label: int
    """Class id (relation / classification); -1 for tokens."""
    head: Span | None = None
    """relation: token span of the head inside the sentence part."""
    tail: Span | None = None
    tags: list[int] | None = None
    """tokens: BIO tag id per position (-100 on [CLS] / [SEP])."""
    gold: tuple[tuple[int, int, str], ...] = ()
    """tokens: gold token spans (start, end, label) in input positions; after a cut, those that end past the
    kept window stay here (they cannot be predicted, so they count as missed)."""
    cut: bool = False
    """Whether pieces were cut away to fit the model's ``tgt_len``."""


class EncodedSplit(NamedTuple):
    """The model inputs of one file (every example that fits) and what had to be cut or left out."""

    encoded: list[Encoded]
    """Every example that fits ``tgt_len``, cut ones included, in file order."""
    cut: int
    """How many of ``encoded`` were cut to fit."""
    unfittable: list[int]
    """Gold label ids (-1 for tokens) of the examples that cannot fit at all: left out of training, counted
    as wrong by the evaluation."""

    @property
    def total(self) -> int:
        """Every example of the file."""
        return len(self.encoded) + len(self.unfittable)


def _span(value: Any, text: str, where: str, name: str) -> Span:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise FinetuneDataError(f"{where}: {name!r} must be [start, end] (two integers), got {value!r}")
    start, end = value
    if not 0 <= start < end <= len(text):
        raise FinetuneDataError(
            f"{where}: {name} span [{start}, {end}] is out of range for a text of {len(text)} code points"
        )
    return Span(start, end)


def _text(raw: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise FinetuneDataError(f"{where}: field {key!r} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise FinetuneDataError(f"{where}: field {key!r} is empty")
    return _unicode(value, key, where)


def _unicode(value: str, key: str, where: str) -> str:
    """``value``, unless it holds a lone surrogate (a ``\\ud800`` escape: the tokenizer cannot encode it)."""
    if has_lone_surrogate(value):
        raise FinetuneDataError(
            f"{where}: field {key!r} holds a lone surrogate (a \\ud800-\\udfff escape), which is not text"
        )
    return value


def _label(raw: dict[str, Any], where: str) -> str:
    value = raw.get("label")
    if not isinstance(value, str) or not value:
        raise FinetuneDataError(f"{where}: field 'label' must be a non-empty string, got {value!r}")
    return _unicode(value, "label", where)


def parse_record(raw: Any, task: FinetuneTask, where: str) -> Example:
    """One JSON value -> a checked :class:`Example` (``where`` = ``file:line`` for messages)."""
    if not isinstance(raw, dict):
        raise FinetuneDataError(f"{where}: a record must be a JSON object, got {type(raw).__name__}")
    text = _text(raw, "text", where)
    assert text is not None
    if task is FinetuneTask.RELATION:
        head, tail = _span(raw.get("head"), text, where, "head"), _span(raw.get("tail"), text, where, "tail")
        if (
            head.start < tail.end
            and tail.start < head.end
            and head != tail
            and not (
                head.start <= tail.start
                and tail.end <= head.end
                or tail.start <= head.start
                and head.end <= tail.end
            )
        ):
            raise FinetuneDataError(f"{where}: head {list(head)} and tail {list(tail)} cross")
        return Example(text, _label(raw, where), head=head, tail=tail)
    if task is FinetuneTask.CLASSIFICATION:
        return Example(text, _label(raw, where), text_pair=_text(raw, "text_pair", where, required=False))
    spans_raw = raw.get("spans")
    if not isinstance(spans_raw, list):
        raise FinetuneDataError(f"{where}: field 'spans' must be a list of {{start, end, label}} objects")
    spans = []
    for k, item in enumerate(spans_raw):
        if not isinstance(item, dict):
            raise FinetuneDataError(f"{where}: spans[{k}] must be an object")
        span = _span([item.get("start"), item.get("end")], text, where, f"spans[{k}]")
        spans.append(LabeledSpan(span.start, span.end, _label(item, f"{where}: spans[{k}]")))
    spans.sort()
    for a, b in zip(spans, spans[1:], strict=False):
        if b.start < a.end:
            raise FinetuneDataError(f"{where}: spans [{a.start}, {a.end}] and [{b.start}, {b.end}] overlap")
    return Example(text, spans=tuple(spans))


def read_examples(
    path: str | Path, task: FinetuneTask, *, max_line_bytes: int = MAX_RECORD_BYTES
) -> list[Example]:
    """Every record of a JSONL file (blank lines skipped); the first bad one raises, naming file:line."""
    path = Path(path)
    out = []
    try:
        for line in read_json_lines(path, max_line_bytes=max_line_bytes):
            out.append(parse_record(line.value, task, f"{path}:{line.number}"))
    except (JsonlError, IrregularFileError) as err:
        raise FinetuneDataError(str(err)) from None
    except OSError as err:
        raise FinetuneDataError(f"{path}: cannot read ({err.strerror or err})") from None
    if not out:
        raise FinetuneDataError(f"{path}: no records")
    return out


def label_set(train: Sequence[Example], task: FinetuneTask) -> list[str]:
    """The labels of the training examples, sorted (tokens: BIO tags ``O``, ``B-x``, ``I-x``)."""
    if task is FinetuneTask.TOKENS:
        kinds = sorted({s.label for e in train for s in e.spans})
        return ["O", *[f"{p}-{k}" for k in kinds for p in ("B", "I")]]
    return sorted({e.label for e in train})


def check_labels(
    examples: Sequence[Example], labels: Sequence[str], path: str | Path, task: FinetuneTask
) -> None:
    """Every label of ``examples`` (a valid or test file) must occur in training; name the first that does not."""
    known = set(labels)
    for e in examples:
        used = [f"B-{s.label}" for s in e.spans] if task is FinetuneTask.TOKENS else [e.label]
        unknown = [u for u in used if u not in known]
        if unknown:
            raise FinetuneDataError(
                f"{path}: label {unknown[0].removeprefix('B-')!r} (text {e.text[:40]!r}) does not occur in the "
                "training file"
            )


def mark_entities(text: str, head: Span, tail: Span) -> tuple[str, Span, Span]:
    """``text`` with ``@ `` / `` @`` around the head and ``# `` / `` #`` around the tail, and the two spans
    in the marked text (markers outside them; at one position an end marker comes before a start marker)."""
    inserts = [
        # (position, order at that position, marker, tag): ends before starts; an inner span closes
        # first and opens last, so nested spans stay nested.
        (head.start, (1, -head.end), "@ ", "hs"),
        (head.end, (0, -head.start), " @", "he"),
        (tail.start, (1, -tail.end), "# ", "ts"),
        (tail.end, (0, -tail.start), " #", "te"),
    ]
    parts: list[str] = []
    where: dict[str, int] = {}
    length, last = 0, 0
    for position, _, marker, tag in sorted(inserts):
        parts.append(text[last:position])
        length += position - last
        if tag.endswith("s"):
            length += len(marker)
            where[tag] = length
        else:
            where[tag] = length
            length += len(marker)
        parts.append(marker)
        last = position
    parts.append(text[last:])
    return "".join(parts), Span(where["hs"], where["he"]), Span(where["ts"], where["te"])


def window(length: int, size: int, keep: tuple[int, int]) -> tuple[int, int] | None:
    """``[start, end)`` of a window of ``min(size, length)`` positions out of ``length`` that covers ``keep``
    (``[lo, hi)``), the spare room split evenly before and after it as far as the bounds allow; None when
    ``keep`` is longer than ``size``."""
    lo, hi = keep
    if hi - lo > size:
        return None
    if length <= size:
        return 0, length
    start = min(max(lo - (size - (hi - lo)) // 2, 0), length - size)
    return start, start + size


def pair_lengths(first: int, second: int, room: int) -> tuple[int, int]:
    """How many pieces of each segment fit ``room``, cutting the longer one first (BERT's
    ``truncate_seq_pair``: one piece at a time from the longer, the second on a tie)."""
    if first + second <= room:
        return first, second
    half_second = room // 2
    half_first = room - half_second
    if second <= half_second:
        return room - second, second
    if first <= half_first:
        return first, room - first
    return half_first, half_second


def _shift(span: Span, by: int) -> Span:
    return Span(span.start + by, span.end + by)


def _relation_markers(example: Example, tok: Tokenizer, label: int, max_len: int) -> Encoded | None:
    """``[CLS] ... @ head @ ... # tail # ... [SEP]``, cut to a window covering both marked entities."""
    assert example.head is not None and example.tail is not None
    text, head_span, tail_span = mark_entities(example.text, example.head, example.tail)
    # The marked spans (entity + its markers: 2 characters each side) are cut points too, so the window can
    # keep the markers whole.
    outer = [Span(s.start - 2, s.end + 2) for s in (head_span, tail_span)]
    marked = tok.encode_spans(text, [head_span, tail_span, *outer])
    spans = marked.spans
    keep = (min(spans[2].start, spans[3].start), max(spans[2].end, spans[3].end))
    cut = window(len(marked.ids), max_len - 2, keep)
    if cut is None:
        return None
    a, b = cut
    ids = [tok.cls_id, *marked.ids[a:b], tok.sep_id]
    head, tail = _shift(spans[0], 1 - a), _shift(spans[1], 1 - a)
    return Encoded(ids, [0] * len(ids), label, head, tail, cut=b - a < len(marked.ids))


def _relation_uktp(example: Example, tok: Tokenizer, label: int, max_len: int) -> Encoded | None:
    """``[CLS] head tail [SEP] sentence [SEP]``, the sentence cut to a window covering both entities."""
    assert example.head is not None and example.tail is not None
    sentence = tok.encode_spans(example.text, [example.head, example.tail])
    head_span, tail_span = sentence.spans
    first = [
        tok.cls_id,
        *sentence.ids[head_span.start : head_span.end],
        *sentence.ids[tail_span.start : tail_span.end],
        tok.sep_id,
    ]
    keep = (min(head_span.start, tail_span.start), max(head_span.end, tail_span.end))
    cut = window(len(sentence.ids), max_len - len(first) - 1, keep)
    if cut is None:
        return None
    a, b = cut
    ids = [*first, *sentence.ids[a:b], tok.sep_id]
    segments = [0] * len(first) + [1] * (b - a + 1)
    offset = len(first) - a
    return Encoded(ids, segments, label, _shift(head_span, offset), _shift(tail_span, offset),
                   cut=b - a < len(sentence.ids))  # fmt: skip


def _classification(example: Example, tok: Tokenizer, label: int, max_len: int) -> Encoded | None:
    """``[CLS] text [SEP]`` or ``[CLS] text [SEP] text_pair [SEP]``, the longer segment cut first."""
    text = tok.encode(example.text)
    if example.text_pair is None:
        if max_len < 3:
            return None
        ids = [tok.cls_id, *text[: max_len - 2], tok.sep_id]
        return Encoded(ids, [0] * len(ids), label, cut=len(text) > max_len - 2)
    pair = tok.encode(example.text_pair)
    if max_len < 5:  # one piece of each segment and three specials
        return None
    n_first, n_second = pair_lengths(len(text), len(pair), max_len - 3)
    first = [tok.cls_id, *text[:n_first], tok.sep_id]
    second = [*pair[:n_second], tok.sep_id]
    cut = n_first + n_second < len(text) + len(pair)
    return Encoded(first + second, [0] * len(first) + [1] * len(second), label, cut=cut)


def _tokens(example: Example, tok: Tokenizer, index: dict[str, int], max_len: int) -> Encoded | None:
    """``[CLS] text [SEP]`` with BIO tags, cut after the first ``max_len - 2`` pieces (gold spans kept)."""
    if max_len < 3:
        return None
    encoded = tok.encode_spans(example.text, [(s.start, s.end) for s in example.spans])
    ids = [tok.cls_id, *encoded.ids, tok.sep_id]
    tags = [-100] + [index["O"]] * len(encoded.ids) + [-100]
    gold = []
    for span, token_span in zip(example.spans, encoded.spans, strict=True):
        start, end = token_span.start + 1, token_span.end + 1
        if end <= start:
            continue  # a span the tokenizer cannot separate (no piece of its own): not a target
        tags[start] = index.get(f"B-{span.label}", index["O"])
        for i in range(start + 1, end):
            tags[i] = index.get(f"I-{span.label}", index["O"])
        gold.append((start, end, span.label))
    if len(ids) <= max_len:
        return Encoded(ids, [0] * len(ids), -1, tags=tags, gold=tuple(gold))
    ids = [*ids[: max_len - 1], tok.sep_id]
    tags = [*tags[: max_len - 1], -100]
    return Encoded(ids, [0] * len(ids), -1, tags=tags, gold=tuple(gold), cut=True)


def encode_fitted(
    example: Example,
    task: FinetuneTask,
    tok: Tokenizer,
    labels: Sequence[str],
    max_len: int,
    relation_input: RelationInput = RelationInput.UKTP,
) -> Encoded | None:
    """Token ids, segments and targets of one example in at most ``max_len`` positions (cut as the module
    docstring says; ``Encoded.cut`` marks a cut), or None when it cannot fit."""
    index = {label: i for i, label in enumerate(labels)}
    if task is FinetuneTask.TOKENS:
        return _tokens(example, tok, index, max_len)
    label = index[example.label]
    if task is FinetuneTask.CLASSIFICATION:
        return _classification(example, tok, label, max_len)
    if relation_input is RelationInput.MARKERS:
        return _relation_markers(example, tok, label, max_len)
    return _relation_uktp(example, tok, label, max_len)


def encode(
    example: Example,
    task: FinetuneTask,
    tok: Tokenizer,
    labels: Sequence[str],
    relation_input: RelationInput = RelationInput.UKTP,
) -> Encoded:
    """Token ids, segments and targets of one example, uncut (see the module docstring for the layouts)."""
    encoded = encode_fitted(example, task, tok, labels, sys.maxsize, relation_input)
    assert encoded is not None, "an example without a length limit always fits"
    return encoded


def encode_all(
    examples: Sequence[Example],
    task: FinetuneTask,
    tok: Tokenizer,
    labels: Sequence[str],
    max_len: int,
    relation_input: RelationInput = RelationInput.UKTP,
) -> EncodedSplit:
    """Every example in at most ``max_len`` positions: those that fit (cut ones counted) and the gold label
    ids of those that cannot."""
    index = {label: i for i, label in enumerate(labels)}
    encoded: list[Encoded] = []
    unfittable: list[int] = []
    for example in examples:
        result = encode_fitted(example, task, tok, labels, max_len, relation_input)
        if result is None:
            unfittable.append(index[example.label] if task is not FinetuneTask.TOKENS else -1)
        else:
            encoded.append(result)
    return EncodedSplit(encoded, sum(e.cut for e in encoded), unfittable)


def bio_spans(tags: Sequence[int], labels: Sequence[str]) -> set[tuple[int, int, str]]:
    """Spans (start, end, label) of a BIO tag sequence; an ``I-x`` that does not continue an ``x`` span
    starts one (the lenient conlleval rule)."""
    spans: set[tuple[int, int, str]] = set()
    start, kind = -1, ""
    for i, tag in enumerate([*tags, -1]):
        name = labels[tag] if 0 <= tag < len(labels) else "O"
        prefix, _, label = name.partition("-")
        continues = prefix == "I" and label == kind and start >= 0
        if start >= 0 and not continues:
            spans.add((start, i, kind))
            start, kind = -1, ""
        if prefix == "B" or (prefix == "I" and not continues):
            start, kind = i, label
    return spans
