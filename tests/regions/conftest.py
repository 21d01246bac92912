"""Fixtures of the regions tests: sizes and boxes only, no pixels."""
import pytest

from regions_data import make_dataset


@pytest.fixture
def small_dset():
    return make_dataset([(200, 150), (90, 300), (64, 64)], boxes_per_image=15, seed=1)
