"""Built-in task plugins (rain_streak, raindrop, shadow, motion_blur).

Installed as ``spairkit.plugins``. Each sub-package is written exactly as a third
party would write one: it registers its components into the public registries
and is discovered through the ``spairkit.plugins`` entry-point group, never
imported by name from the core.
"""

if __name__ != 'spairkit.plugins':  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        f'the folder plugins/ was imported as {__name__!r}; import it as '
        "'spairkit.plugins' (install the package with 'pip install -e .')")
