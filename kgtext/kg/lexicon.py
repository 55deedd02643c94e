"""Lexicon entries of one IRI -> its resolved Names (label + aliases) under a language preference.

Resolution order for the label: a preferred label in the best available preferred language, then an alias
in the best available preferred language, then a preferred label in any other language (smallest tag
first), then the IRI local name (``.../Alan_Bean`` -> ``Alan Bean``). Aliases are every other name in the
preferred languages, deduplicated, ordered by language rank, then preferred before alias, then text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import unquote

from kgtext.kg.records import LexiconEntry, Names

_LOCAL_NAME = re.compile(r"[^/#:]+$")


def names_from_iri(iri: str) -> Names:
    """Names whose label is the IRI's local name, percent-decoded, with underscores as spaces."""
    local = _LOCAL_NAME.search(iri.rstrip("/#"))
    text = unquote(local.group()) if local else iri
    label = " ".join(text.replace("_", " ").split())
    return Names(iri, label or iri, ())


def language_rank(lang: str, languages: Sequence[str]) -> int | None:
    """Index of the first preference ``lang`` satisfies (``en`` covers ``en-gb``); None if none does."""
    lang = lang.lower()
    for rank, wanted in enumerate(languages):
        wanted = wanted.lower()
        if lang == wanted or (wanted and lang.startswith(wanted + "-")):
            return rank
    return None


def resolve_names(iri: str, entries: Iterable[LexiconEntry], languages: Sequence[str]) -> Names:
    """Pick the label and aliases of ``iri`` from its lexicon entries (see the module docstring)."""
    ranked: list[tuple[int, int, str]] = []
    others: list[tuple[str, str]] = []
    for entry in entries:
        name = " ".join(entry.name.split())
        if not name:
            continue
        rank = language_rank(entry.lang, languages)
        if rank is None:
            if entry.is_preferred:
                others.append((entry.lang, name))
            continue
        ranked.append((rank, 0 if entry.is_preferred else 1, name))
    ranked.sort()
    if ranked:
        label = ranked[0][2]
    elif others:
        label = min(others)[1]
    else:
        return names_from_iri(iri)
    aliases = dict.fromkeys(name for _, _, name in ranked if name != label)
    return Names(iri, label, tuple(aliases))
