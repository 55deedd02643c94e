"""The one error type of the corpus contract: its message names the file and what is wrong."""

from __future__ import annotations


class CorpusError(Exception):
    """A corpus directory (manifest or shard) is missing, corrupt, unsafe or from a newer format.

    ``str(err)`` is a one-line message that starts with the offending path; CLIs print it and exit 1.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
