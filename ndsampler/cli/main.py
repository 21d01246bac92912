"""The ``ndsampler`` command: one scriptconfig ModalCLI over the subcommands.

Example
-------
>>> from ndsampler.cli.main import main
>>> main(['--version'])  # doctest: +ELLIPSIS
0...
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

import scriptconfig as scfg

import ndsampler
from ndsampler.cli._bench import BenchCLI
from ndsampler.cli._demo import DemoCLI
from ndsampler.cli._info import InfoCLI
from ndsampler.cli._predict import PredictCLI
from ndsampler.cli._prepare import PrepareCLI
from ndsampler.cli._show import ShowCLI

__all__ = ['NdsamplerCLI', 'main']


class NdsamplerCLI(scfg.ModalCLI):
    """Prepare, inspect, look at and benchmark window sampling over kwcoco datasets; ``demo`` runs it all."""

    __prog__ = 'ndsampler'
    __version__ = ndsampler.__version__
    prepare = PrepareCLI
    info = InfoCLI
    show = ShowCLI
    bench = BenchCLI
    predict = PredictCLI
    demo = DemoCLI


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``ndsampler`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    Bad syntax prints one line with a ``--help`` hint and returns 2; a failing subcommand prints
    ``ndsampler <cmd>: error: <message>`` to stderr and returns 1.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    error = argparse.ArgumentParser.error
    argparse.ArgumentParser.error = _one_line_error  # type: ignore[method-assign]
    try:
        return int(NdsamplerCLI.main(argv=argv, autocomplete=False) or 0)
    except SystemExit as ex:
        return ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 1)
    finally:
        argparse.ArgumentParser.error = error  # type: ignore[method-assign]


def _one_line_error(parser: argparse.ArgumentParser, message: str) -> None:
    """Bad syntax: one line and a ``--help`` hint on stderr (not argparse's usage dump); exit status 2."""
    parser.exit(2, f'{parser.prog}: error: {message} (see {parser.prog} --help)\n')
