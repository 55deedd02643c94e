"""The alignment evaluation (``kgtext align-eval``), the top floor: it reads gold sets and runs the build.

:mod:`~kgtext.evaluation.gold` reads the gold sets (WebNLG, REBEL, Re-DocRED, FewRel), :mod:`~kgtext.evaluation.
baseline` is the plain-label baseline every figure stands beside, :mod:`~kgtext.evaluation.score` the one scorer,
:mod:`~kgtext.evaluation.report` the one renderer; :mod:`~kgtext.evaluation.align_eval` measures through
``kgtext build-corpus`` and :mod:`~kgtext.evaluation.oracle` is its per-entry-KG diagnostic. Nothing else in
kgtext imports this package (tests/test_layering.py); nothing here runs at corpus-build time.
"""
