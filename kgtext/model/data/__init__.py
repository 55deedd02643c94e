"""Reading corpus shards for training: shard source and bucketing, DLM streams, collation, the task mixture.

Imports the model core (``model.*`` top-level modules) and ``corpus``; never ``kgtext.model.train``.
"""
