"""Models: each has a typed config, ``fit -> self``, learned state ending in ``_`` and
``save``/``load``."""
