"""The common floor: what every component uses, standard library only.

The command-line parser every ``kgtext`` command uses (:mod:`kgtext.common.cli_parser`), bounded line reading
(:mod:`kgtext.common.lines`, :mod:`kgtext.common.jsonl`, :mod:`kgtext.common.json_stream`), the checker of a
JSON document's shape against a dataclass (:mod:`kgtext.common.shape`) and the dead-letter types
(:mod:`kgtext.common.dead_letters`). It imports nothing of kgtext's and no third-party package
(tests/test_layering.py).
"""
