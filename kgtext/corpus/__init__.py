"""The data contract between kgtext's corpus builder and its trainer.

Arrow schemas and the format version (``schemas``), shard encoding, reading and verification
(``shards``), the manifest (``manifest``), the hash rules that place documents in splits and shards
(``sharding``) and the pure builders of the five ERNIE 3.0 tasks (``kgtext.corpus.tasks``).
No Apache Beam and no torch here: both sides import this package.
"""
