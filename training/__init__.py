"""Making the models the assistant ships: each script here rebuilds one fitted file from ``../shared``.

``bench/`` only measures; everything that fits parameters or trains weights lives here:

* ``python -m training.train_reader``: the reader (``assistant/answering/reader.safetensors``);
  its data (``reader_pairs``), checkpoints (``checkpoint``), held-out figures (``reader_eval``) and
  export (``export``) are each their own module.
"""
