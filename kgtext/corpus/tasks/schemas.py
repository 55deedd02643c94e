"""Arrow schemas of the five task datasets (kmlm, uktp, sr, sd, dlm).

Every task dataset has ``doc_id`` (string), ``position`` (int32, the row's order inside its document),
``input_ids`` (list<int32>, SentencePiece ids of the corpus tokenizer) and ``num_tokens`` (int32,
``len(input_ids)``, for length bucketing without a scan). Token spans are ``[start, end)`` indices into
``input_ids``. Bump ``kgtext.corpus.schemas.FORMAT_VERSION`` when anything here changes.
"""

from __future__ import annotations

import pyarrow as pa

_SPAN = pa.struct(
    [pa.field("start", pa.int32(), nullable=False), pa.field("end", pa.int32(), nullable=False)]
)
_UNIT = pa.struct(
    [
        pa.field("start", pa.int32(), nullable=False),
        pa.field("end", pa.int32(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
    ]
)


def _list(t: pa.DataType) -> pa.DataType:
    return pa.list_(pa.field("item", t, nullable=False))


_COMMON = [
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("position", pa.int32(), nullable=False),
    pa.field("input_ids", _list(pa.int32()), nullable=False),
    pa.field("num_tokens", pa.int32(), nullable=False),
]

KMLM_SCHEMA = pa.schema(
    _COMMON
    + [
        pa.field("sentence_index", pa.int32(), nullable=False),
        pa.field("units", _list(_UNIT), nullable=False),
    ]
)
UKTP_SCHEMA = pa.schema(
    _COMMON
    + [
        pa.field("sentence_index", pa.int32(), nullable=False),
        pa.field("segment_ids", _list(pa.int8()), nullable=False),
        pa.field("head_span", _SPAN, nullable=False),
        pa.field("relation_span", _SPAN, nullable=False),
        pa.field("tail_span", _SPAN, nullable=False),
        pa.field("sentence_span", _SPAN, nullable=False),
        pa.field("units", _list(_UNIT), nullable=False),
        pa.field("head_mentions", _list(_SPAN), nullable=False),
        pa.field("tail_mentions", _list(_SPAN), nullable=False),
        pa.field("head", pa.string(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
        pa.field("tail", pa.string(), nullable=False),
        pa.field("level", pa.string(), nullable=False),
    ]
)
SR_SCHEMA = pa.schema(
    _COMMON
    + [
        pa.field("paragraph_index", pa.int32(), nullable=False),
        pa.field("segment_starts", _list(pa.int32()), nullable=False),
    ]
)
SD_SCHEMA = pa.schema(
    _COMMON
    + [
        pa.field("segment_ids", _list(pa.int8()), nullable=False),
        pa.field("label", pa.int8(), nullable=False),
        pa.field("other_doc_id", pa.string(), nullable=False),
    ]
)
DLM_SCHEMA = pa.schema(_COMMON + [pa.field("segment_index", pa.int32(), nullable=False)])

TASK_SCHEMAS: dict[str, pa.Schema] = {
    "kmlm": KMLM_SCHEMA,
    "uktp": UKTP_SCHEMA,
    "sr": SR_SCHEMA,
    "sd": SD_SCHEMA,
    "dlm": DLM_SCHEMA,
}
