"""``python -m ndsampler``: the ``ndsampler`` command."""
import sys

from ndsampler.cli.main import main

if __name__ == '__main__':
    sys.exit(main())
