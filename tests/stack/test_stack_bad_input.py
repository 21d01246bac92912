"""Issue 14, image stack rows: bad operations are StackError / InvalidOptionError / file errors naming the value."""
import numpy as np
import pytest

from ndsampler.errors import ImageReadError, InvalidOptionError, SourceNotFoundError, StackError
from ndsampler.stack import ImageStack, ImageStackSQL


def test_zero_step_slice():
    stack = ImageStack(dtype=np.uint8)
    stack.add_image(np.zeros((2, 2), np.uint8))
    with pytest.raises(StackError, match='non-zero step'):
        stack[::0]


@pytest.mark.parametrize('image', [7, [[1, 2], [3]], 'abc', np.zeros((2, 2), complex)])
def test_add_image_of_no_image(image):
    with pytest.raises(StackError, match='allowed: a numeric array'):
        ImageStack(dtype=np.uint8).add_image(image)


def test_sql_max_size_mb(tmp_path):
    with pytest.raises(InvalidOptionError, match="max_size_mb='x'"):
        ImageStackSQL(database=tmp_path / 's.sqlite', dtype=np.uint8, max_size_mb='x')


def test_from_paths_missing_and_damaged(tmp_path):
    with pytest.raises(SourceNotFoundError, match='missing.png'):
        ImageStack.from_paths([tmp_path / 'missing.png'])
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a png')
    with pytest.raises(ImageReadError, match='bad.png'):
        ImageStack.from_paths([bad])
