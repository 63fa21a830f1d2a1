"""Package list generated from the folders, never hand-kept.

``registry/`` and ``plugins/`` (and ``configs/``) live at the top of the
repository but install as ``spairkit.registry``, ``spairkit.plugins`` and
``spairkit.configs``. Every sub-package found under them is listed, so a new
plugin folder cannot be silently left out of a wheel.
"""
from setuptools import find_packages, setup

MAPPED = {
    'spairkit': 'spairkit',
    'spairkit.registry': 'registry',
    'spairkit.plugins': 'plugins',
    'spairkit.configs': 'configs',
}


def _packages():
    packages = []
    for name, folder in MAPPED.items():
        packages.append(name)
        packages += [f'{name}.{sub}' for sub in find_packages(folder)]
    return sorted(set(packages))


setup(
    packages=_packages(),
    package_dir=MAPPED,
    package_data={'spairkit.configs': ['**/*.py'], 'spairkit.plugins': ['**/*.md']},
    include_package_data=True,
)
