import numpy as np
import pytest

from ndsampler import errors
from ndsampler_torch import SyntheticSampler, demo_train


@pytest.mark.slow
def test_demo_train_loss_decreases_and_is_deterministic():
    sampler = SyntheticSampler.demo(n_images=6, n_annots=40, n_classes=3, seed=0)
    logged = []
    result = demo_train(sampler, steps=30, window_dims=(32, 32), batch_size=8, seed=0,
                        log=lambda step, loss: logged.append((step, loss)))
    losses = result['losses']
    assert len(losses) == 30 and [s for s, _ in logged] == list(range(1, 31))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    again = demo_train(sampler, steps=3, window_dims=(32, 32), batch_size=8, seed=0)
    assert again['losses'] == losses[:3]
    assert result['class_names'] == ['class1', 'class2', 'class3']
    with pytest.raises(errors.InvalidOptionError):
        demo_train(sampler, steps=0)
