"""Random image stack operation sequences: only ndsampler errors, and the stack stays equal to a list model."""
import numpy as np
from hypothesis import given, strategies as st

from fuzz_settings import FUZZ
from ndsampler.errors import NdsamplerError
from ndsampler.stack import ImageStack

images = st.one_of(st.builds(lambda v: np.full((2, 3), v, np.uint8), st.integers(0, 255)),
                   st.sampled_from([7, [[1, 2], [3]], 'abc', None, np.zeros((2, 2), complex), [[1, 2], [3, 4]]]))
indexes = st.one_of(st.integers(-6, 6), st.sampled_from(['0', 1.5, None, True]),
                    st.builds(slice, st.integers(-4, 4) | st.none(), st.integers(-4, 4) | st.none(),
                              st.integers(-2, 2) | st.none()))
ops = st.lists(st.tuples(st.sampled_from(['add', 'insert', 'get', 'set', 'del', 'remove']), indexes, images),
               max_size=12)


def _apply(stack, op, index, image):
    if op == 'add':
        stack.add_image(image)
    elif op == 'insert':
        stack.insert_image(index, image)
    elif op == 'get':
        stack[index]
    elif op == 'set':
        stack[index] = image
    elif op == 'del':
        del stack[index]
    else:
        stack.remove_image(index)


def _model(model, op, index, image):
    """What a list of image shapes does for an operation the stack accepted."""
    shape = np.shape
    if op == 'add':
        model.append(shape(image))
    elif op == 'insert':
        model.insert(index, shape(image))
    elif op == 'set' and isinstance(index, slice):
        for i, item in zip(range(*index.indices(len(model))), list(image)):
            model[i] = shape(item)
    elif op == 'set':
        model[index] = shape(image)
    elif op == 'del':
        del model[index]
    elif op == 'remove':
        model.pop(index)


@FUZZ
@given(ops=ops)
def test_fuzzed_stack_operations(ops):
    stack, model = ImageStack(dtype=np.uint8), []
    for op, index, image in ops:
        try:
            _apply(stack, op, index, image)
        except NdsamplerError:
            continue  # refused: the model does not change either
        _model(model, op, index, image)
        assert [im.shape for im in stack] == model
