"""Turn an exception into one line for the user, with an exit code.

User mistakes (exit 2) are recognised by type (:class:`spairkit.errors.UserError`,
``FileNotFoundError``) or by the messages MMEngine's registry raises for an
unknown ``type`` or a wrong constructor argument. Anything else is a bug or an
environment problem (exit 1); ``--debug`` shows its traceback.
"""
from __future__ import annotations

import re

from spairkit.errors import UserError, unknown_component_message

# MMEngine: "<type> is not in the <scope>::<name> registry. Please check ..."
_UNKNOWN_TYPE = re.compile(
    r"(?P<type>[\w.]+) is not in the (?P<scope>\w+)::(?P<name>[\w ]+?) registry")
# MMEngine wraps constructor errors: "class `NetR` in spairkit/models/x.py: NetR.__init__() got ..."
_OWNER = r"(?:class `(?P<cls>\w+)`.*?: )?(?P<fn>[\w.]+)\(\) "
_BAD_KWARG = re.compile(_OWNER + r"got an unexpected keyword argument '(?P<key>\w+)'")
_MISSING_ARG = re.compile(
    _OWNER + r"missing \d+ required (?:positional |keyword-only )?arguments?: (?P<keys>.+)")


def _registry_candidates(scope: str, name: str) -> list[str]:
    from spairkit.registry import ALL_REGISTRIES
    for registry in ALL_REGISTRIES.values():
        if registry.name == name:
            registry.import_from_location()
            names = set(registry.module_dict)
            parent = registry.parent
            while parent is not None:  # MMEngine's own components are valid too
                names |= set(parent.module_dict)
                parent = parent.parent
            return sorted(names)
    return []


def describe_exception(exc: BaseException) -> tuple[str, int]:
    """(one-line message, exit code) for ``exc``."""
    if isinstance(exc, UserError):
        return _first_line(str(exc)), exc.exit_code
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    match = _UNKNOWN_TYPE.search(text)
    if match:
        scope, name = match['scope'], match['name']
        candidates = _registry_candidates(scope, name)
        return unknown_component_message(f'{scope}::{name}', match['type'], candidates), 2
    if isinstance(exc, TypeError):
        match = _BAD_KWARG.search(text)
        if match:
            return (f"component '{_owner(match)}' has no argument '{match['key']}' "
                    '(check the config)'), 2
        match = _MISSING_ARG.search(text)
        if match:
            return f"component '{_owner(match)}' is missing required argument(s) {match['keys']}", 2
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        return _first_line(str(exc)), 2
    return f'{type(exc).__name__}: {_first_line(text)}', 1


def _owner(match: re.Match) -> str:
    # The innermost failing constructor: "NetR.__init__" -> NetR (MMEngine prefixes
    # the outer classes being built as "class `SPAIR` in ...: ").
    fn = match['fn']
    return fn.split('.')[0] if '.' in fn else (match['cls'] or fn)


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ''
