"""Installs the ``ndsampler`` core package and its optional torch adapter."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def parse_requirements(name):
    """Read one requirements file, following ``-r`` includes."""
    reqs = []
    for line in (HERE / 'requirements' / name).read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        if line.startswith('-r '):
            reqs.extend(parse_requirements(line[3:].strip()))
        else:
            reqs.append(line)
    return reqs


def read_version():
    for line in (HERE / 'ndsampler' / '__init__.py').read_text().splitlines():
        if line.startswith('__version__'):
            return line.split('=', 1)[1].strip().strip("'\"")
    raise RuntimeError('no __version__ in ndsampler/__init__.py')


setup(
    name='ndsampler',
    version=read_version(),
    description='Fast random and gridded windows with annotations from large images, for training and inference',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['ndsampler', 'ndsampler.*', 'ndsampler_torch', 'ndsampler_torch.*']),
    python_requires='>=3.10',
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'torch': parse_requirements('torch.txt'),
        'dask': parse_requirements('dask.txt'),
        'remote': parse_requirements('remote.txt'),
        'tests': parse_requirements('tests.txt'),
    },
    entry_points={'console_scripts': ['ndsampler = ndsampler.cli.main:main']},
)
