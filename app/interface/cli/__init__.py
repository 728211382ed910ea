"""The ``apibase`` command line; commands live in :mod:`app.interface.cli.main`."""
