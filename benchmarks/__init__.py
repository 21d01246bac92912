"""ndsampler benchmarks: ``python -m benchmarks [name ...]`` (``make bench`` runs them all).

Each ``benchmarks/bench_<name>.py`` has ``main(argv) -> None`` and prints medians and ratios
against a reference measured in the same run.
"""
