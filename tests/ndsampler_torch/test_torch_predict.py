"""predict: grid -> DataLoader -> model -> weighted blend -> per-image COG assets registered in kwcoco."""
import kwcoco
import kwimage
import numpy as np
import pytest
import rasterio
import torch

from ndsampler import errors
from ndsampler.io import write_cog
from ndsampler.sampler import CocoSampler
from ndsampler_torch import importance_map, predict


def _images_dataset(dpath, sizes, seed=0):
    """A kwcoco dataset of uint8 rasters of the given (w, h) sizes (values 0..255, random)."""
    rng = np.random.default_rng(seed)
    dset = kwcoco.CocoDataset()
    dset.fpath = str(dpath / 'data.kwcoco.json')
    pixels = {}
    for k, (w, h) in enumerate(sizes):
        data = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        fname = f'img{k}.tif'
        write_cog(dpath / fname, data)
        gid = dset.add_image(name=f'img{k}', file_name=fname, width=w, height=h, channels='r|g|b')
        pixels[gid] = data.astype(np.float32)
    dset.dump(dset.fpath)
    return dset, pixels


def _video_dataset(dpath, num_frames=3, dsize=(40, 30), seed=0):
    rng = np.random.default_rng(seed)
    dset = kwcoco.CocoDataset()
    dset.fpath = str(dpath / 'video.kwcoco.json')
    vidid = dset.add_video(name='vid', width=dsize[0], height=dsize[1])
    pixels = {}
    for t in range(num_frames):
        data = rng.integers(0, 256, size=(dsize[1], dsize[0], 2), dtype=np.uint8)
        fname = f'frame{t}.tif'
        write_cog(dpath / fname, data)
        gid = dset.add_image(name=f'frame{t}', file_name=fname, width=dsize[0], height=dsize[1], channels='a|b',
                             video_id=vidid, frame_index=t,
                             warp_img_to_vid={'type': 'affine', 'matrix': np.eye(3).tolist()})
        pixels[gid] = data.astype(np.float32)
    dset.dump(dset.fpath)
    return dset, pixels


def _read_back(fpath, gid, channels):
    """The stitched asset as a fresh sampler reads it from the saved dataset (image space)."""
    dset = kwcoco.CocoDataset(fpath)
    sampler = CocoSampler(dset, backend=None)
    img = dset.index.imgs[gid]
    target = {'gid': gid, 'space_slice': (slice(0, img['height']), slice(0, img['width'])), 'channels': channels}
    return sampler.load_sample(target, with_annots=False)['im']


class _Constant(torch.nn.Module):
    """One band: the mean of each window's input, everywhere in the window."""

    def forward(self, x):
        return x.mean(dim=(1, 2, 3), keepdim=True).expand(x.shape[0], 1, *x.shape[2:]).contiguous()


@pytest.mark.parametrize('num_workers', [0, 2])
def test_identity_constant_blend_reproduces_input_and_reloads(tmp_path, num_workers):
    # sizes that are not a multiple of the stride (24) nor of the window (32)
    dset, pixels = _images_dataset(tmp_path, [(75, 50), (33, 90)])
    summary = predict(CocoSampler(dset, backend=None), torch.nn.Identity(), 32, overlap=0.25, blend='constant',
                      batch_size=3, num_workers=num_workers, output='ident')
    assert summary.heads == {'pred': 'pred.0:3'}
    assert sorted(a['gid'] for a in summary.assets) == sorted(pixels)
    assert summary.num_windows == 3 * 2 + 2 * 4 and summary.dataset_fpath == dset.fpath
    for gid, data in pixels.items():
        got = _read_back(dset.fpath, gid, 'pred.0:3')
        assert got.dtype == np.float32 and got.shape == data.shape
        np.testing.assert_array_equal(got, data)
    asset = kwcoco.CocoDataset(dset.fpath).index.imgs[1]['assets'][-1]
    assert asset['file_name'].startswith('_assets/ident/img0_pred') and asset['channels'] == 'pred.0:3'


def test_identity_quantized_within_one_step(tmp_path):
    dset, pixels = _images_dataset(tmp_path, [(70, 45)])
    summary = predict(CocoSampler(dset, backend=None), torch.nn.Identity(), 32, overlap=0.5, blend='gaussian',
                      quantize=True, output='quant')
    quant = summary.assets[0]['quantization']
    step = (quant['orig_max'] - quant['orig_min']) / (quant['quant_max'] - quant['quant_min'])
    got = _read_back(dset.fpath, 1, 'pred.0:3')
    err = np.abs(got - pixels[1]).max()
    assert 0 < err <= step / 2 + 1e-3 * step


def test_constant_model_and_gaussian_blend_have_no_seams(tmp_path):
    dset, _ = _images_dataset(tmp_path, [(90, 70)])
    sampler = CocoSampler(dset, backend=None)
    ones = predict(sampler, lambda x: torch.full_like(x[:, :1], 3.0), 32, overlap=0.25, output='ones',
                   out_channels='c', save=False)
    got = _read_back_asset(ones.assets[0]['fpath'])
    np.testing.assert_allclose(got, 3.0, rtol=1e-6)
    # window means differ from window to window: constant weights step from one to the next, the gaussian blend
    # spreads the change over several pixels (inside the image: along its border every window is at its edge,
    # where MONAI's 1e-3 floor makes all weights equal)
    jumps = {}
    for blend in ('constant', 'gaussian'):
        summary = predict(sampler, _Constant(), 32, overlap=0.5, blend=blend, output=f'mean_{blend}',
                          out_channels='m', save=False)
        got = _read_back_asset(summary.assets[0]['fpath'])[8:-8, 8:-8, 0]
        jumps[blend] = max(np.abs(np.diff(got, axis=0)).max(), np.abs(np.diff(got, axis=1)).max())
    assert jumps['constant'] > 10 and jumps['gaussian'] < 0.5 * jumps['constant']


def _read_back_asset(fpath):
    with rasterio.open(fpath) as src:
        return src.read().transpose(1, 2, 0).astype(np.float32)


@pytest.mark.parametrize('time_stride', [None, 1])
def test_video_space_time_windows_stitch_each_frame(tmp_path, time_stride):
    dset, pixels = _video_dataset(tmp_path, num_frames=3)
    seen = []

    def model(x):
        seen.append(tuple(x.shape))
        return x * 2

    summary = predict(CocoSampler(dset, backend=None), model, (16, 24), overlap=0.25, blend='constant',
                      time_dims=2, time_stride=time_stride, output='vid', num_workers=2)
    assert seen and all(len(s) == 5 and s[1:3] == (2, 2) for s in seen)  # (B, C, T, h, w)
    # 3 frames in windows of 2: starts 0, 2 (the second padded past the end), or 0, 1 with a stride of 1 (frame 1
    # in both); 3 x 2 windows in space
    assert summary.num_windows == 2 * 3 * 2
    assert sorted(a['gid'] for a in summary.assets) == sorted(pixels)
    for gid, data in pixels.items():
        np.testing.assert_array_equal(_read_back(dset.fpath, gid, 'pred.0:2'), data * 2)


def test_two_heads_each_their_own_asset(tmp_path):
    dset, pixels = _images_dataset(tmp_path, [(50, 40)])

    def model(x):
        return {'gray': x.mean(dim=1, keepdim=True), 'double': x * 2}

    summary = predict(CocoSampler(dset, backend=None), model, 32, overlap=0.25, blend='edge', output='heads',
                      out_channels={'double': 'd1|d2|d3'})
    assert summary.heads == {'gray': 'gray.0', 'double': 'd1|d2|d3'}
    assert sorted(a['head'] for a in summary.assets) == ['double', 'gray']
    data = pixels[1]
    np.testing.assert_allclose(_read_back(dset.fpath, 1, 'gray.0')[..., 0], data.mean(axis=2), rtol=1e-5)
    np.testing.assert_allclose(_read_back(dset.fpath, 1, 'd1|d2|d3'), data * 2, rtol=1e-6)
    # the sampler reads both heads together as channels of one image
    both = _read_back(dset.fpath, 1, 'gray.0|d2')
    assert both.shape == (40, 50, 2)


def test_half_scale_is_stored_at_its_scale(tmp_path):
    dset, pixels = _images_dataset(tmp_path, [(67, 50)])
    sampler = CocoSampler(dset, backend=None)
    summary = predict(sampler, torch.nn.Identity(), 16, overlap=0.25, blend='constant', scale=0.5, output='half')
    asset = summary.assets[0]
    assert (asset['width'], asset['height']) == (34, 25)
    reg = kwcoco.CocoDataset(dset.fpath).index.imgs[1]['assets'][-1]
    assert np.allclose(kwimage.Affine.coerce(reg['warp_aux_to_img']).matrix, np.diag([2.0, 2.0, 1.0]))
    expect = sampler.load_sample({'gid': 1, 'space_slice': (slice(0, 50), slice(0, 68)), 'scale': 0.5},
                                 with_annots=False)['im']
    np.testing.assert_allclose(_read_back_asset(asset['fpath']), expect, atol=1e-3)
    with pytest.raises(errors.InvalidOptionError, match='scale'):
        predict(sampler, torch.nn.Identity(), 16, scale=0.3, save=False)


def test_gaussian_map_is_monais():
    n = 24
    x = np.arange(-(n - 1) / 2, (n - 1) / 2 + 1)
    g = np.exp(x ** 2 / (-2 * (0.125 * n) ** 2))
    expect = np.maximum(np.outer(g, g), 1e-3)
    np.testing.assert_allclose(importance_map((n, n)), expect, rtol=1e-6)


@pytest.mark.parametrize('kwargs, name', [
    ({'blend': 'cosine'}, 'blend'), ({'window_dims': 0}, 'window_dims'), ({'window_dims': (16, -2)}, 'window_dims'),
    ({'overlap': 1.0}, 'overlap'), ({'overlap': -0.1}, 'overlap'), ({'batch_size': 0}, 'batch_size'),
    ({'num_workers': -1}, 'num_workers'), ({'scale': 0}, 'scale'),
])
def test_bad_arguments_raise_our_errors(tmp_path, kwargs, name):
    dset, _ = _images_dataset(tmp_path, [(20, 20)])
    args = {'window_dims': 16, **kwargs}
    with pytest.raises(errors.InvalidOptionError, match=f'invalid {name}=') as info:
        predict(CocoSampler(dset, backend=None), torch.nn.Identity(), save=False, **args)
    assert isinstance(info.value, ValueError) and isinstance(info.value, errors.NdsamplerError)


def test_wrong_output_shape_names_the_expected_one(tmp_path):
    dset, _ = _images_dataset(tmp_path, [(20, 20)])
    with pytest.raises(errors.StitchingError, match=r'returned shape \(4, 3, 8, 8\); allowed: \(4, 3, 16, 16\)'):
        predict(CocoSampler(dset, backend=None), lambda x: x[..., ::2, ::2], 16, save=False)


def test_worker_batch_buffers_are_unmapped_before_the_last_write(tmp_path):
    from ndsampler_torch import _shared_ring
    dset, _ = _images_dataset(tmp_path, [(256, 128)])
    written = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            written.append(x.nbytes)
            return x

    predict(CocoSampler(dset, backend=None), Spy(), 128, overlap=0, blend='constant', batch_size=2, num_workers=2,
            save=False)
    assert written == [2 * 3 * 128 * 128 * 4]  # one batch, large enough for the workers' shared-memory ring
    assert _shared_ring._RECEIVED == {}
