"""Using a pre-trained model: locating a checkpoint and its tokenizer, ``kgtext generate``, ``kgtext evaluate``.

Imports the model core, ``kgtext.model.data`` and ``kgtext.model.train`` (the run folder layout); nothing in those imports
``kgtext.model.use``.
"""
