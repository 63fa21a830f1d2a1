"""The ``spairkit`` command line: one module per command under :mod:`.commands`."""
