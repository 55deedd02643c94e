"""``python -m kgtext.model.pretrain`` / ``torchrun -m kgtext.model.pretrain``: the documented entry point of pre-training.

A thin alias of :mod:`kgtext.model.train.cli` (where the command lives since ``model/`` has sub-packages), kept so
that every documented ``torchrun`` line keeps working.
"""

from __future__ import annotations

from kgtext.model.train.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
