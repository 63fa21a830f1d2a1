"""Package list generated from the folders, never hand-kept.

``registry/`` and ``plugins/`` (and ``configs/``) live at the top of the
repository but install as ``spairkit.registry``, ``spairkit.plugins`` and
``spairkit.configs``. Every sub-package found under them is listed, so a new
plugin folder cannot be silently left out of a wheel. The C++/CUDA sources of
``cuda_ops/`` are compiled on first use, so a wheel carries them as data in
``spairkit/ops/csrc`` (an editable install reads the repository's folder).
"""
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

MAPPED = {
    'spairkit': 'spairkit',
    'spairkit.registry': 'registry',
    'spairkit.plugins': 'plugins',
    'spairkit.configs': 'configs',
}
KERNEL_SOURCES = ('*.cpp', '*.cu', '*.h', '*.cuh')


def _packages():
    packages = []
    for name, folder in MAPPED.items():
        packages.append(name)
        packages += [f'{name}.{sub}' for sub in find_packages(folder)]
    return sorted(set(packages))


class BuildPyWithKernelSources(build_py):
    """Copy ``cuda_ops/`` into the built package as ``spairkit/ops/csrc``."""

    def run(self):
        super().run()
        source = Path(__file__).resolve().parent / 'cuda_ops'
        target = Path(self.build_lib) / 'spairkit' / 'ops' / 'csrc'
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=lambda d, names: [
            n for n in names if not (Path(d, n).is_dir()
                                     or any(Path(n).match(p) for p in KERNEL_SOURCES))])


setup(
    packages=_packages(),
    package_dir=MAPPED,
    # Each plugin's configs (plugins/<task>/configs/, with their _base_ folders) install
    # with it.
    package_data={'spairkit.configs': ['**/*.py'],
                  'spairkit.plugins': ['**/*.md', '*/configs/**/*.py']},
    include_package_data=True,
    cmdclass={'build_py': BuildPyWithKernelSources},
)
