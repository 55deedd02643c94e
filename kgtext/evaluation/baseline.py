"""The plain-label baseline of the alignment evaluation: a whole-KG gazetteer with no disambiguation.

Every label and alias of every KG entity (and every literal tail as written) is a surface form; a sentence
mentions an entity wherever one of its forms occurs exactly (case-sensitive) on word boundaries, and every
entity sharing that form is kept. A triple is aligned to a sentence when its head and its tail are both
mentioned there (the ERNIE 3.0 co-occurrence rule, without any of kgtext's additions). It is what a user
gets from the naive approach, so every figure kgtext reports stands beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import ahocorasick

from kgtext.kg.records import Names, Triple


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class PlainLabelBaseline:
    """Built once from the whole KG; :meth:`mentions` and :meth:`pairs` are pure per sentence."""

    def __init__(
        self, names: Iterable[Names], triples: Iterable[Triple], literal_key: dict[str, str]
    ) -> None:
        """``names``: every entity's names; ``literal_key``: a literal tail's lexical form -> its mention key."""
        forms: dict[str, set[str]] = defaultdict(set)
        for entry in names:
            for form in (entry.label, *entry.aliases):
                if form.strip():
                    forms[form].add(entry.iri)
        self.by_ends: dict[tuple[str, str], set[tuple[str, str, str]]] = defaultdict(set)
        for t in triples:
            tail = literal_key.get(t.tail, t.tail) if t.tail_is_literal else t.tail
            if t.tail_is_literal:
                forms[t.tail].add(tail)
            self.by_ends[(t.head, tail)].add((t.head, t.relation, tail))
        self.automaton = ahocorasick.Automaton()
        for form, entities in forms.items():
            self.automaton.add_word(form, (len(form), tuple(sorted(entities))))
        self._empty = not forms
        if forms:
            self.automaton.make_automaton()

    def mentions(self, text: str) -> list[tuple[int, int, str]]:
        """Every (start, end, entity) whose form occurs in ``text`` on word boundaries."""
        if self._empty:
            return []
        found = []
        for end_index, (length, entities) in self.automaton.iter(text):
            start, end = end_index - length + 1, end_index + 1
            if (start > 0 and _word_char(text[start - 1]) and _word_char(text[start])) or (
                end < len(text) and _word_char(text[end]) and _word_char(text[end - 1])
            ):
                continue
            found += [(start, end, entity) for entity in entities]
        return sorted(found)

    def pairs(self, mentioned: Iterable[str]) -> Iterator[tuple[str, str, str]]:
        """The KG triples whose head and tail are both among the ``mentioned`` entities of one sentence."""
        present = set(mentioned)
        for head in sorted(present):
            for tail in sorted(present):
                yield from sorted(self.by_ends.get((head, tail), ()))
