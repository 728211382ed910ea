"""The reference service built on the API Base kernel: a shop of two modules, ``catalog`` and ``ordering``."""
