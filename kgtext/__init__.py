"""kgtext: knowledge graph + documents -> ERNIE 3.0 pre-training corpus, and the ERNIE 3.0 trainer.

This package holds only the ``kgtext`` command dispatcher; the code lives in the top-level packages
``kg``, ``aligners``, ``corpus``, ``pipelines`` and ``model`` (see docs/ARCHITECTURE.md).
"""

__version__ = "0.1.0"
