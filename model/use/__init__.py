"""Using a pre-trained model: locating a checkpoint and its tokenizer, ``kgtext generate``, ``kgtext evaluate``.

Imports the model core, ``model.data`` and ``model.train`` (the run folder layout); nothing in those imports
``model.use``.
"""
