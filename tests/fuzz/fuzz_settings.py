"""Fuzz settings: ``NDSAMPLER_FUZZ_EXAMPLES`` examples per test (default small enough for CI, e.g. 20000 for a long run)."""
import os

from hypothesis import settings

FUZZ = settings(max_examples=int(os.environ.get('NDSAMPLER_FUZZ_EXAMPLES', '300')), deadline=None)

#: Seconds one call may take (a hang detector, not a benchmark).
CALL_LIMIT_S = 20.0  # generous: the first call also loads the demo images; CI machines are shared
