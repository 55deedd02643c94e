"""The closed vocabulary of the five ERNIE 3.0 pre-training tasks, and the stat keys named after them.

``Task`` is a ``StrEnum``: a member *is* its string (``Task.KMLM == "kmlm"``), so it names folders, Arrow
datasets and manifest keys unchanged. Beam's FastPrimitivesCoder fast-paths only an exact ``str``, so the
pipeline converts members to plain values (``task.value``) where they cross a shuffle.
"""

from __future__ import annotations

import enum

from kgtext.corpus.stats import StatFamily


class Task(enum.StrEnum):
    """A pre-training task (one dataset folder of a corpus)."""

    KMLM = "kmlm"
    """Knowledge masked language modelling (NLU)."""
    UKTP = "uktp"
    """Universal knowledge-text prediction (NLU)."""
    SR = "sr"
    """Sentence reordering (NLU)."""
    SD = "sd"
    """Sentence distance (NLU)."""
    DLM = "dlm"
    """Document language modelling (NLG)."""


TASKS: tuple[Task, ...] = tuple(Task)
"""The five tasks, in the builders' order."""
NLU_TASKS: tuple[Task, ...] = (Task.KMLM, Task.UKTP, Task.SR, Task.SD)
"""The tasks that train the NLU module."""
TOKEN_TASKS: tuple[Task, ...] = (Task.KMLM, Task.UKTP)
"""NLU tasks whose targets are masked tokens."""
CLASS_TASKS: tuple[Task, ...] = (Task.SR, Task.SD)
"""NLU tasks whose target is one class of the [CLS] state."""


def stat_key(task: Task, outcome: str) -> str:
    """The manifest stat key of a builder outcome: ``tasks.<task>.<outcome>``."""
    return StatFamily.TASKS.key(task.value, outcome)
