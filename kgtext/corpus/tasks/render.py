"""One task row -> a human-readable rendering for ``kgtext inspect``.

Units are bracketed (``[[entity]]``, ``{phrase}``, words plain), UKTP shows the triple beside its
sentence with the head's and tail's mentions marked, SR/SD labels are spelled out, and one masked (or
permuted) example is drawn with :mod:`kgtext.corpus.tasks.masking` at epoch 0, row index ``position``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kgtext.corpus.records import Span
from kgtext.corpus.tasks import masking
from kgtext.corpus.tasks.rows import SdLabel, UnitKind
from kgtext.corpus.tasks.tokenizer import Tokenizer

_OPEN = {UnitKind.ENTITY: "[[", UnitKind.PHRASE: "{", "head": "<H:", "tail": "<T:"}
_CLOSE = {UnitKind.ENTITY: "]]", UnitKind.PHRASE: "}", "head": ">", "tail": ">"}
_MAX_CHARS = 2000


def _bounds(item: Any) -> tuple[int, int]:
    if isinstance(item, Mapping):
        return int(item["start"]), int(item["end"])
    return int(item[0]), int(item[1])


def _decode_run(ids: Sequence[int], tok: Tokenizer) -> str:
    """Decode with leading spaces kept; special tokens are shown as their piece (``[CLS]``)."""
    parts: list[str] = []
    run: list[int] = []
    for t in [*ids, -1]:
        if t >= 0 and t not in tok.special_ids:
            run.append(t)
            continue
        if run:
            parts.append(tok.decode(run, keep_leading_space=True))
            run = []
        if t >= 0:
            parts.append(tok.id_to_piece(t))
    return "".join(parts)


def _marked(ids: Sequence[int], tok: Tokenizer, marks: Sequence[tuple[int, int, str]]) -> str:
    """Decode ``ids`` with each non-overlapping mark (start, end, kind) bracketed; words stay plain."""
    cuts = sorted({0, len(ids), *(x for s, e, k in marks if k in _OPEN for x in (s, e))})
    kind_at = {s: k for s, _, k in marks if k in _OPEN}
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        text = _decode_run(ids[a:b], tok)
        kind = kind_at.get(a)
        if kind:
            lead = " " if text.startswith(" ") else ""
            text = f"{lead}{_OPEN[kind]}{text.lstrip(' ')}{_CLOSE[kind]}"
        out.append(text)
    return "".join(out).strip()


def _pieces(ids: Sequence[int], tok: Tokenizer, labels: Sequence[int] | None = None) -> str:
    shown = []
    for i, t in enumerate(ids):
        piece = tok.id_to_piece(t)
        if labels is not None and labels[i] != masking.IGNORE:
            piece += f"({tok.id_to_piece(labels[i])})"
        shown.append(piece)
    return " ".join(shown)


def _unit_spans(row: Mapping[str, Any]) -> list[Span]:
    """The row's units as token spans (rows reach ``inspect`` as dicts of Python values)."""
    return [Span(*_bounds(u)) for u in row["units"]]


def _units(row: Mapping[str, Any]) -> list[tuple[int, int, str]]:
    return [(*_bounds(u), u["kind"] if isinstance(u, Mapping) else u[2]) for u in row["units"]]


def _render_kmlm(row: Mapping[str, Any], tok: Tokenizer, seed: int) -> list[str]:
    ids = list(row["input_ids"])
    m = masking.mask_units(
        ids,
        _unit_spans(row),
        seed=seed,
        epoch=0,
        row_index=int(row["position"]),
        mask_id=tok.mask_id,
        random_range=(tok.first_normal_id, tok.vocab_size),
    )
    return [
        f"text:   {_marked(ids, tok, _units(row))}",
        f"masked: {_pieces(m.input_ids.tolist(), tok, m.labels.tolist())}",
    ]


def _render_uktp(row: Mapping[str, Any], tok: Tokenizer, seed: int) -> list[str]:
    ids = list(row["input_ids"])
    part = {name: ids[slice(*_bounds(row[f"{name}_span"]))] for name in ("head", "relation", "tail")}
    marks = [(*_bounds(s), "head") for s in row["head_mentions"]] + [
        (*_bounds(s), "tail") for s in row["tail_mentions"]
    ]
    sent = _bounds(row["sentence_span"])
    m = masking.mask_uktp(
        ids,
        _bounds(row["relation_span"]),
        _unit_spans(row),
        seed=seed,
        epoch=0,
        row_index=int(row["position"]),
        mask_id=tok.mask_id,
        random_range=(tok.first_normal_id, tok.vocab_size),
    )
    return [
        f"triple:   ({tok.decode(part['head'])} | {tok.decode(part['relation'])} | {tok.decode(part['tail'])})",
        f"iris:     {row['head']} {row['relation']} {row['tail']}  [level {row['level']}]",
        f"sentence: {_marked(ids[sent[0] : sent[1]], tok, [(s - sent[0], e - sent[0], k) for s, e, k in marks])}",
        f"masked:   {_pieces(m.input_ids.tolist(), tok, m.labels.tolist())}",
    ]


def _render_sr(row: Mapping[str, Any], tok: Tokenizer, seed: int) -> list[str]:
    ids = list(row["input_ids"])
    starts = [int(s) for s in row["segment_starts"]]
    bounds = [*starts, len(ids) - 1]
    lines = [
        f"segment {k}: {tok.decode(ids[a:b])}"
        for k, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))
    ]
    p = masking.permute_sr(ids, starts, seed=seed, epoch=0, row_index=int(row["position"]))
    lines.append(f"shuffled as {p.permutation} -> class {p.label}: {tok.decode(p.input_ids.tolist())}")
    return lines


def _render_sd(row: Mapping[str, Any], tok: Tokenizer, seed: int) -> list[str]:
    ids, seg = list(row["input_ids"]), list(row["segment_ids"])
    first = [t for t, s in zip(ids, seg, strict=True) if s == 0]
    second = [t for t, s in zip(ids, seg, strict=True) if s == 1]
    label = SdLabel(int(row["label"]))
    return [
        f"first:  {tok.decode(first)}",
        f"second: {tok.decode(second)}",
        f"label:  {label.value} = {label.name.lower().replace('_', ' ')} (other doc: {row['other_doc_id']!r})",
    ]


def _render_dlm(row: Mapping[str, Any], tok: Tokenizer, seed: int) -> list[str]:
    text = tok.decode(list(row["input_ids"]))
    cut = text if len(text) <= _MAX_CHARS else text[:_MAX_CHARS] + " ..."
    return [f"segment_index: {row['segment_index']}", f"text: {cut}"]


_RENDER = {"kmlm": _render_kmlm, "uktp": _render_uktp, "sr": _render_sr, "sd": _render_sd, "dlm": _render_dlm}


def render_row(dataset: str, row: Mapping[str, Any], tok: Tokenizer, *, seed: int = 0) -> str:
    """Multi-line rendering of one row of task ``dataset`` (kmlm, uktp, sr, sd or dlm)."""
    render = _RENDER.get(dataset)
    if render is None:
        raise ValueError(f"dataset must be one of {sorted(_RENDER)}, got {dataset!r}")
    head = f"{dataset} {row['doc_id']} #{row['position']} ({row['num_tokens']} tokens)"
    return "\n".join([head, *("  " + line for line in render(row, tok, seed))])
