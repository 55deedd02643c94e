"""kgtext: knowledge graph + documents -> ERNIE 3.0 pre-training corpus, and the ERNIE 3.0 trainer.

Everything installs under this one import name: ``kgtext.kg`` (KG files -> records), ``kgtext.aligners``
(documents -> aligned sentences), ``kgtext.corpus`` (the corpus contract), ``kgtext.pipelines`` (Beam wiring)
and ``kgtext.model`` (PyTorch model and trainer); ``kgtext.cli`` is the ``kgtext`` command's dispatcher
(docs/ARCHITECTURE.md).
"""

__version__ = "0.1.0"
