"""Hash rules that place a document in a split (train/valid) and in a shard.

Both rules are pure functions of the document id, so every runner and worker count assigns the same
document to the same split and shard, and a document's rows always stay together.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "valid")


def _unit_hash(doc_id: str, salt: str) -> int:
    digest = hashlib.blake2b(f"{salt}\x00{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def split_of(doc_id: str, valid_fraction: float) -> str:
    """``"valid"`` for a ``valid_fraction`` share of document ids (by hash), else ``"train"``."""
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    bucket = _unit_hash(doc_id, "split") % 10_000
    return "valid" if bucket < round(valid_fraction * 10_000) else "train"


def shard_of(doc_id: str, num_shards: int) -> int:
    """The shard index in ``[0, num_shards)`` of a document (independent of its split)."""
    if num_shards <= 0:
        raise ValueError(f"num_shards must be positive, got {num_shards}")
    return _unit_hash(doc_id, "shard") % num_shards


def bucket_of(doc_id: str, num_buckets: int, salt: str) -> int:
    """A salted hash bucket of a document id (e.g. to pick sentence-distance negatives)."""
    if num_buckets <= 0:
        raise ValueError(f"num_buckets must be positive, got {num_buckets}")
    return _unit_hash(doc_id, salt) % num_buckets


def shard_file_name(index: int, count: int) -> str:
    """The file name of shard ``index`` of ``count``: ``part-00003-of-00008.arrow``."""
    return f"part-{index:05d}-of-{count:05d}.arrow"
