"""Pre-training: configuration, objective, schedule, loop, set-up, checkpoints, distribution, eval, logs, plots, CLI.

Imports the model core and ``model.data``; nothing outside ``model.train`` imports it except ``kgtext.cli``
and the ``model.pretrain`` entry point.
"""
