"""Pre-training: configuration, objective, schedule, loop, set-up, checkpoints, distribution, eval, logs, plots, CLI.

Imports the model core and ``kgtext.model.data``; nothing outside ``kgtext.model.train`` imports it except ``kgtext.cli``
and the ``kgtext.model.pretrain`` entry point.
"""
