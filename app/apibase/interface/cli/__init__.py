"""The ``apibase`` command line; commands live in :mod:`apibase.interface.cli.main`."""
