"""Shared test configuration: deterministic hypothesis, quiet third-party warnings."""
import os
import warnings

from hypothesis import HealthCheck, settings

settings.register_profile(
    'ndsampler',
    derandomize=True,
    deadline=None,
    max_examples=int(os.environ.get('NDSAMPLER_HYPOTHESIS_EXAMPLES', '60')),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.load_profile('ndsampler')

try:
    from rasterio.errors import NotGeoreferencedWarning
except ImportError:  # pragma: no cover - rasterio is a hard dependency
    pass
else:
    warnings.filterwarnings('ignore', category=NotGeoreferencedWarning)
