"""SentencePiece tokenizer of a corpus: training, loading, and exact character-span -> token-span encoding.

Span rule (docs/TASKS.md, "Token spans"): :meth:`Tokenizer.encode_spans` cuts the text at every span
boundary and encodes the pieces separately, so every span boundary is a token boundary and a span's tokens
decode back to exactly its characters. A cut that follows a space moves left over that one space, so the
space stays the word-initial ``▁`` of the span's first piece (``" Hans"`` -> ``▁Hans``), as it would in
whole-sentence encoding. To make this exact the model is trained with ``add_dummy_prefix=false`` and
``remove_extra_whitespaces=false``; the tokenizer itself prepends the one space the dummy prefix would
add. Special tokens are SentencePiece control symbols: the text ``"[MASK]"`` is never read as ``[MASK]``.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import io
import logging
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, count
from pathlib import Path
from typing import NamedTuple, cast

import sentencepiece as spm

from kgtext.corpus.records import Span

logger = logging.getLogger(__name__)

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)
"""Reserved at ids 0..4 in this order (pad, unk, cls = SentencePiece bos, sep = eos, mask = control)."""
_SPACE = " "
_LABEL_CACHE_SIZE = 100_000


class ModelType(str, enum.Enum):
    """SentencePiece segmentation algorithm."""

    UNIGRAM = "unigram"
    BPE = "bpe"


MIN_VOCAB_SIZE = 300
"""Smallest SentencePiece vocabulary: kgtext's special pieces plus the 256 byte-fallback pieces."""


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class TokenizerConfig:
    """How the corpus SentencePiece model is trained. Identical input + config -> byte-identical model."""

    model_type: ModelType = ModelType.UNIGRAM
    """Segmentation algorithm."""
    vocab_size: int = 8000
    """Pieces in the model, special tokens and 256 byte pieces included."""
    num_threads: int = 1
    """Trainer threads; pinned because SentencePiece builds a different model for a different count."""
    split_digits: bool = True
    """Every digit is its own piece, so numbers and dates stay matchable at digit boundaries."""
    hard_vocab_limit: bool = True
    """If False, a vocab_size the data cannot fill is a soft limit instead of an error."""
    character_coverage: float = 0.9995
    """Share of characters covered by character pieces; the rest fall back to UTF-8 byte pieces."""
    byte_fallback: bool = True
    """Encode rare characters as byte pieces instead of [UNK], so every text round-trips."""
    normalization_rule_name: str = "nmt_nfkc"
    """SentencePiece normaliser (``identity`` keeps the text byte for byte)."""
    input_sentence_size: int = 0
    """Sentences sampled for training (0 = all); sampling is seeded by ``seed``."""
    shuffle_input_sentence: bool = False
    """Shuffle before sampling (only with ``input_sentence_size``)."""
    seed: int = 0
    """Seed of SentencePiece's sampling (``set_random_generator_seed``)."""
    max_sentence_length: int = 16384
    """Longer training sentences (bytes) are skipped by the trainer."""
    extra_control_symbols: tuple[str, ...] = ()
    """Task markers reserved after [MASK] (ids 5, 6, ...), never matched in text."""

    def __post_init__(self) -> None:
        if not isinstance(self.model_type, ModelType):
            if self.model_type not in {m.value for m in ModelType}:
                raise ValueError(f"model_type must be one of unigram, bpe, got {self.model_type!r}")
            object.__setattr__(self, "model_type", ModelType(self.model_type))
        if self.vocab_size < MIN_VOCAB_SIZE:
            raise ValueError(
                f"vocab_size must be >= {MIN_VOCAB_SIZE} (specials + byte pieces), got {self.vocab_size}"
            )
        if self.num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {self.num_threads}")
        if not 0.0 < self.character_coverage <= 1.0:
            raise ValueError(f"character_coverage must be in (0, 1], got {self.character_coverage}")
        if self.input_sentence_size < 0:
            raise ValueError(f"input_sentence_size must be >= 0, got {self.input_sentence_size}")
        if self.max_sentence_length < 1:
            raise ValueError(f"max_sentence_length must be >= 1, got {self.max_sentence_length}")
        bad = [s for s in self.extra_control_symbols if not s or s in SPECIAL_TOKENS or _SPACE in s]
        if bad or len(set(self.extra_control_symbols)) != len(self.extra_control_symbols):
            raise ValueError(
                f"extra_control_symbols must be distinct new non-blank tokens, got {bad or 'duplicates'}"
            )


def train_tokenizer(sentences: Iterable[str], model_prefix: str, config: TokenizerConfig) -> str:
    """Train a SentencePiece model on ``sentences`` and write ``{model_prefix}.model``; return its path.

    The model is written from memory (no ``.vocab`` side file); the bytes depend only on the sentences,
    their order and ``config`` (``num_threads`` included).
    """
    model = io.BytesIO()
    spm.set_random_generator_seed(config.seed)  # process-global in SentencePiece: set right before use
    feed = (_SPACE + s for s in sentences if s and not s.isspace())
    spm.SentencePieceTrainer.train(
        sentence_iterator=feed,
        model_writer=model,
        model_type=config.model_type.value,
        vocab_size=config.vocab_size,
        num_threads=config.num_threads,
        split_digits=config.split_digits,
        hard_vocab_limit=config.hard_vocab_limit,
        character_coverage=config.character_coverage,
        byte_fallback=config.byte_fallback,
        normalization_rule_name=config.normalization_rule_name,
        input_sentence_size=config.input_sentence_size,
        shuffle_input_sentence=config.shuffle_input_sentence,
        max_sentence_length=config.max_sentence_length,
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        pad_piece=PAD,
        unk_piece=UNK,
        bos_piece=CLS,
        eos_piece=SEP,
        control_symbols=[MASK, *config.extra_control_symbols],
        minloglevel=2,
    )
    path = Path(f"{model_prefix}.model")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.getvalue())
    logger.info("trained %s tokenizer with %d pieces -> %s", config.model_type.value, config.vocab_size, path)
    return str(path)


def _fast_encoder(sp: spm.SentencePieceProcessor) -> Callable[[str], list[int]]:
    """``sp.encode`` (ids, one text, no sampling / bos / eos) without its per-call Python option handling.

    Binds SentencePiece's C++ ``_EncodeAsIds`` directly when this SentencePiece version has it and it agrees
    with ``sp.encode`` on a probe; otherwise ``sp.encode`` itself.
    """
    raw = getattr(getattr(sp, "_processor", None), "_EncodeAsIds", None)
    if raw is None:
        return cast(Callable[[str], list[int]], sp.encode)
    options = (False, -1, 0.1, False, False, False)  # sampling, nbest, alpha, bos, eos, reverse

    def encode(text: str) -> list[int]:
        return cast(list[int], raw(text, *options))

    probe = " Probe: Zürich, 1932 — naïve [MASK] text."
    try:
        if encode(probe) == sp.encode(probe):
            return encode
    except TypeError:
        pass
    return cast(Callable[[str], list[int]], sp.encode)


class EncodedSpans(NamedTuple):
    """Token ids of a text and the token span of each requested character span (same order)."""

    ids: list[int]
    spans: list[Span]


class TokenizerError(ValueError):
    """A SentencePiece model file that cannot be used; the message names the file."""


class Tokenizer:
    """A loaded corpus SentencePiece model. Build it with :meth:`load` or :meth:`from_bytes`."""

    def __init__(self, model_bytes: bytes) -> None:
        try:
            sp = spm.SentencePieceProcessor(model_proto=model_bytes)
        except RuntimeError:  # SentencePiece's "INTERNAL: ... ParseFromArray" on anything else
            raise ValueError("not a SentencePiece model (it does not parse)") from None
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        if tuple(pieces[:5]) != SPECIAL_TOKENS:
            raise ValueError(f"model must reserve {SPECIAL_TOKENS} at ids 0..4, has {tuple(pieces[:5])}")
        probe = sp.encode("a")
        if not probe or sp.id_to_piece(probe[0]).startswith("▁") or sp.decode(sp.encode("a  b")) != "a  b":
            raise ValueError(
                "model must be trained with add_dummy_prefix=false, remove_extra_whitespaces=false"
            )
        self._sp = sp
        self._encode_raw = _fast_encoder(sp)
        self._bytes = model_bytes
        self._labels: dict[str, list[int]] = {}
        self.sha256 = hashlib.sha256(model_bytes).hexdigest()
        """Hex SHA-256 of the model file (goes into the manifest)."""
        self.vocab_size: int = len(pieces)
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = range(5)
        self.special_ids: frozenset[int] = frozenset(
            i for i in range(len(pieces)) if sp.is_control(i) or sp.is_unknown(i)
        )
        """Ids never produced from text by a word (pad, unk, cls, sep, mask, task markers)."""
        self.first_normal_id: int = 1 + max(
            i for i in range(len(pieces)) if sp.is_control(i) or sp.is_byte(i)
        )
        """Lowest id of an ordinary piece: random replacement tokens are drawn from here to vocab_size."""
        self.word_start: tuple[bool, ...] = tuple(p.startswith("▁") for p in pieces)
        """``word_start[i]``: piece i begins a whitespace-separated word."""

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Load a ``.model`` file written by :func:`train_tokenizer` (or compatible); every problem (no
        such file, a folder, not a SentencePiece model, not a kgtext one) is a :class:`TokenizerError`
        naming the path."""
        try:
            return cls(Path(path).read_bytes())
        except OSError as err:
            raise TokenizerError(
                f"{path}: cannot read the SentencePiece model ({err.strerror or err})"
            ) from None
        except ValueError as err:
            raise TokenizerError(f"{path}: not a usable kgtext SentencePiece model: {err}") from None

    @classmethod
    def from_bytes(cls, model_bytes: bytes) -> Tokenizer:
        """Build from the serialized model (e.g. as Beam ships it to workers)."""
        return cls(model_bytes)

    def model_bytes(self) -> bytes:
        """The serialized model."""
        return self._bytes

    def piece_id(self, piece: str) -> int:
        """Id of a piece (e.g. a task marker); ValueError if the model lacks it."""
        i: int = self._sp.piece_to_id(piece)
        if i == self.unk_id and piece != UNK:
            raise ValueError(f"piece {piece!r} is not in the model")
        return i

    def id_to_piece(self, i: int) -> str:
        """The piece string of id ``i``."""
        piece: str = self._sp.id_to_piece(int(i))
        return piece

    def vocab_text(self) -> str:
        """The vocabulary in SentencePiece's ``.vocab`` format (:func:`vocab_text`)."""
        return vocab_text(self._bytes)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` as one word-initial run (a space is prepended, like a dummy prefix)."""
        ids: list[int] = self._encode_raw(_SPACE + text)
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """:meth:`encode` of many texts (a loop: SentencePiece's list call starts threads and is ~10x slower)."""
        encode = self._encode_raw
        return [encode(_SPACE + t) for t in texts]

    def encode_label(self, text: str) -> list[int]:
        """:meth:`encode` through a cache (KG labels repeat across rows); do not mutate the result."""
        ids = self._labels.get(text)
        if ids is None:
            if len(self._labels) >= _LABEL_CACHE_SIZE:
                self._labels.clear()
            ids = self._labels[text] = self.encode(text)
        return ids

    def decode(self, ids: Iterable[int], *, keep_leading_space: bool = False) -> str:
        """Text of ``ids`` (specials dropped); the one leading space :meth:`encode` adds is removed."""
        text: str = self._sp.decode([int(i) for i in ids])
        return text[1:] if text.startswith(_SPACE) and not keep_leading_space else text

    def encode_spans(self, text: str, spans: Sequence[tuple[int, int]]) -> EncodedSpans:
        """Encode ``text`` so every ``[start, end)`` character span maps to an exact token span.

        ``decode(ids[s.start:s.end]) == text[start:end]`` for each span (up to the model's normaliser);
        ``ids`` is ``encode(text)`` except where a span boundary falls inside a piece.
        """
        n = len(text)
        padded = _SPACE + text
        cut_of: dict[int, int] = {}  # text offset -> cut in ``padded``
        for start, end in spans:
            if not 0 <= start <= end <= n:
                raise ValueError(f"span ({start}, {end}) outside text of length {n}")
            # a boundary that follows a space moves left over it (offset x in text is x + 1 in padded)
            cut_of[start] = start if padded[start] == _SPACE else start + 1
            cut_of[end] = end if padded[end] == _SPACE else end + 1
        new = tuple.__new__  # NamedTuple(...) goes through a Python-level __new__
        if not cut_of:
            return new(EncodedSpans, (self._encode_raw(padded), []))
        ids, token_at = self._encode_cuts(padded, sorted({0, n + 1, *cut_of.values()}))
        for x, c in cut_of.items():
            cut_of[x] = token_at[c]
        return new(EncodedSpans, (ids, [new(Span, (cut_of[s], cut_of[e])) for s, e in spans]))

    def _encode_cuts(self, padded: str, cuts: list[int]) -> tuple[list[int], dict[int, int]]:
        """The ids of ``padded`` and the token index of every cut (sorted, 0 and len included).

        A cut at a space is already a piece boundary (pieces never cross whitespace, and a piece starts
        with ``▁`` exactly where a space was), so only cuts inside a word force a separate encode. If the
        normaliser changed the number of spaces, the chunk is cut at every boundary instead.
        """
        encode, word_start, end = self._encode_raw, self.word_start, len(padded)
        token_at: dict[int, int] = {}
        ids: list[int] = []
        inner: list[int] = []
        a = 0  # cuts[0] == 0 always starts a chunk
        for b in cuts[1:]:
            if b != end and padded[b] == _SPACE:
                inner.append(b)
                continue
            chunk = padded[a:b]
            chunk_ids: list[int] = encode(chunk)
            base = token_at[a] = len(ids)
            if inner:
                starts = list(compress(count(), map(word_start.__getitem__, chunk_ids)))
                if len(starts) == chunk.count(_SPACE):
                    for c in inner:
                        token_at[c] = base + starts[chunk.count(_SPACE, 0, c - a)]
                else:
                    chunk_ids = []
                    for x, y in zip([a, *inner], [*inner, b], strict=True):
                        token_at[x] = base + len(chunk_ids)
                        chunk_ids += encode(padded[x:y])
                inner = []
            ids += chunk_ids
            a = b
        token_at[end] = len(ids)
        return ids, token_at


def vocab_text(model_bytes: bytes) -> str:
    """SentencePiece's ``.vocab`` file of a model: ``piece<TAB>score`` per id, in id order (what
    ``spm_train`` writes beside the model; tools such as fairseq read it).

    Scores are printed as ``spm_train`` prints them (C++ ``ostream`` default: 6 significant digits, the
    same as Python's ``%g``), so the text equals the ``.vocab`` that training with a file prefix writes.
    """
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    return "".join(f"{sp.id_to_piece(i)}\t{sp.get_score(i):g}\n" for i in range(sp.get_piece_size()))
