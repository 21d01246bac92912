"""Shared test configuration: a deterministic hypothesis profile."""
import os

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
