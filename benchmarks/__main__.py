"""Run benchmarks: ``python -m benchmarks`` (all) or ``python -m benchmarks delayed frames``."""
import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name[len('bench_'):] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith('bench_'))


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith('-')] or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f'unknown benchmark(s): {", ".join(unknown)}; available: {", ".join(available())}', file=sys.stderr)
        return 2
    for name in names:
        print(f'=== benchmark: {name}', flush=True)
        module = importlib.import_module(f'benchmarks.bench_{name}')
        module.main([a for a in argv if a.startswith('-')])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
