"""The ``ndsampler`` command line (SPEC §10): prepare, info, show, bench, demo.

Each subcommand is a scriptconfig config in its own module, thin over a library function
that is also usable from Python.
"""
from ndsampler.cli._info import InfoCLI, dataset_info
from ndsampler.cli._prepare import PrepareCLI, cache_report
from ndsampler.cli.main import NdsamplerCLI, main

__all__ = ['main', 'NdsamplerCLI', 'PrepareCLI', 'InfoCLI', 'dataset_info', 'cache_report']
