"""Per-language pieces of the aligner: spaCy language, word counting, pronouns, boundaries, normalisation.

The aligner only talks to a :class:`Language`; adding Chinese means adding one instance here
(``spacy.blank("zh")`` segments words; every token edge is a word boundary, so ``spaced`` is False).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import spacy

# Same-length character map used for matching: every entry maps one character to one character, so
# offsets into the normalised string are offsets into the original one.
_CHAR_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "-": " ",
        "\u2010": " ",
        "\u2011": " ",
        "\u2012": " ",
        "\u2013": " ",
        "\u2014": " ",
        "\u2212": " ",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\t": " ",
        "\n": " ",
        "\r": " ",
        "_": " ",
    }
)


def _fold_accents() -> dict[int, str]:
    """Latin letters with diacritics -> their base letter ("é" -> "e"), one character each."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        decomposed = unicodedata.normalize("NFD", chr(code))
        if len(decomposed) > 1 and decomposed[0].isascii() and decomposed[0].isalpha():
            table[code] = decomposed[0]
    return table


_CHAR_MAP.update(_fold_accents())


def normalise_same_length(text: str) -> str:
    """Lower-case, fold Latin accents, map quotes to ASCII, dashes, ``_`` and odd spaces to a space; same length."""
    mapped = text.translate(_CHAR_MAP)
    lowered = mapped.lower()
    if len(lowered) == len(mapped):
        return lowered
    # A few characters (e.g. "İ") lower to two code points: lower those one by one.
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in mapped)


_SPACES = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """The matching key of a KG name: same-length normalisation, whitespace runs collapsed, stripped."""
    return _SPACES.sub(" ", normalise_same_length(name)).strip()


_PLURAL_ES = re.compile(r"(?:s|x|z|ch|sh)$")
_PLURAL_IES = re.compile(r"[^aeiou]y$")


def english_plural(word: str) -> str:
    """The regular English plural of a noun ("Cookie" -> "Cookies", "Cherry" -> "Cherries", "Peach" ->
    "Peaches"); irregular nouns are not known."""
    if _PLURAL_IES.search(word):
        return word[:-1] + "ies"
    if _PLURAL_ES.search(word):
        return word + "es"
    return word + "s"


@dataclass(frozen=True, kw_only=True, slots=True)
class Language:
    """Everything the aligner needs to know about one language."""

    code: str
    """ISO code, also the ``spacy.blank`` language."""
    spaced: bool
    """True when words are separated by spaces (names must then start and end at word boundaries)."""
    subject_pronouns: frozenset[str]
    """Casefolded sentence-initial words that refer back to the document subject (T-REx NoSub heuristic)."""
    sentence_pattern: re.Pattern[str]
    """Regex sentence splitter used for the de-duplication key (paper §3.3: sentences split by regex)."""

    def count_words(self, nonword: npt.NDArray[np.bool_]) -> int:
        """Words in a sentence given, per spaCy token, whether it is punctuation or whitespace.

        Both English (space-separated) and Chinese (spaCy's ``zh`` word segmentation) count every other
        token as one word.
        """
        return int(len(nonword) - np.count_nonzero(nonword))

    def is_boundary(self, text: str, start: int, end: int) -> bool:
        """True when ``text[start:end]`` does not cut a word (always True for unspaced languages)."""
        if not self.spaced:
            return True
        if start > 0 and text[start - 1].isalnum() and text[start].isalnum():
            return False
        return not (end < len(text) and text[end].isalnum() and text[end - 1].isalnum())

    def split_sentences_regex(self, text: str) -> list[str]:
        """Split text into sentences with :attr:`sentence_pattern` (non-empty, stripped)."""
        return [s.strip() for s in self.sentence_pattern.split(text) if s.strip()]


ENGLISH = Language(
    code="en",
    spaced=True,
    subject_pronouns=frozenset({"he", "she", "it", "they", "his", "her", "its", "their"}),
    sentence_pattern=re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+"),
)

CHINESE = Language(
    code="zh",
    spaced=False,
    subject_pronouns=frozenset({"他", "她", "它", "他们", "她们", "其"}),
    sentence_pattern=re.compile(r"(?<=[。！？!?])|\n+"),
)

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (ENGLISH, CHINESE)}


def stop_words(code: str) -> frozenset[str]:
    """spaCy's stop words of a language, casefolded (a KG name made only of them is not indexed)."""
    return frozenset(w.lower() for w in spacy.util.get_lang_class(code).Defaults.stop_words)


def language_for(code: str) -> Language:
    """The :class:`Language` for ``code``; ValueError naming the code when unsupported."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise ValueError(f"language {code!r} is not supported (known: {sorted(LANGUAGES)})") from None
