"""One module per ``spairkit`` sub-command.

A command module defines ``NAME`` (the sub-command), ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Adding a command is adding a
file here; :func:`spairkit.cli.main.build_parser` finds the modules of this
package when the command line starts (not at import time).
"""
