"""The ``ndsampler`` command line (SPEC §10): prepare, info, show, bench, predict, demo.

Each subcommand is a scriptconfig config in its own module, thin over a library function
that is also usable from Python. The entry point is :func:`ndsampler.cli.main.main`.
"""
from ndsampler.cli._bench import MEMMAP_LIMIT, BenchCLI, bench_sampling, format_bench
from ndsampler.cli._demo import DEMO_SIZES, DemoCLI, DemoSizes, run_demo, stitch_predictions
from ndsampler.cli._info import InfoCLI, dataset_info, format_info
from ndsampler.cli._predict import PredictCLI, format_predict_summary, load_model
from ndsampler.cli._prepare import PrepareCLI, cache_report
from ndsampler.cli._show import SHOW_MODES, ShowCLI, display_channels, render_samples, sample_targets
from ndsampler.cli.main import NdsamplerCLI

__all__ = [
    'NdsamplerCLI', 'PrepareCLI', 'InfoCLI', 'ShowCLI', 'BenchCLI', 'PredictCLI', 'DemoCLI',
    'cache_report', 'dataset_info', 'format_info', 'sample_targets', 'display_channels', 'render_samples',
    'SHOW_MODES', 'bench_sampling', 'format_bench', 'MEMMAP_LIMIT', 'run_demo', 'stitch_predictions',
    'DemoSizes', 'DEMO_SIZES', 'load_model', 'format_predict_summary',
]
