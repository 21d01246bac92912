"""``ndsampler prepare`` and ``ndsampler info`` name every file that disagrees with the dataset."""
import json

import kwcoco


def _enlarge_image_2(dset_fpath):
    """The json now says image 2 is 200x128; its PNG stays 160x128. Returns the PNG's path."""
    dset = kwcoco.CocoDataset(str(dset_fpath))
    dset.imgs[2]['width'] = 200
    dset.dump(str(dset_fpath))
    return dset_fpath.parent / dset.imgs[2]['file_name']


def test_prepare_prints_each_mismatch_and_fails(small_dset, run_cli):
    png = _enlarge_image_2(small_dset)
    proc = run_cli('prepare', small_dset, '--backend', 'npy')
    assert proc.returncode == 1, proc.stderr
    assert 'converted        3' in proc.stdout and 'mismatched       1' in proc.stdout
    assert f'image 2: {png}: size: dataset says 200x128 (width/height), file has 160x128' in proc.stdout
    assert 'img_0001.png' not in proc.stdout and 'img_0003.png' not in proc.stdout


def test_dry_run_lists_mismatches_and_converts_nothing(small_dset, run_cli):
    png = _enlarge_image_2(small_dset)
    proc = run_cli('prepare', small_dset, '--dry-run')
    assert proc.returncode == 1, proc.stderr
    assert f'image 2: {png}: size: dataset says 200x128 (width/height), file has 160x128' in proc.stdout
    assert 'to convert (missing)    3' in proc.stdout


def test_info_reports_mismatches_as_text_and_json(small_dset, run_cli):
    png = _enlarge_image_2(small_dset)
    text = run_cli('info', small_dset)
    assert text.returncode == 0, text.stderr
    assert 'files that disagree with the dataset' in text.stdout
    assert f'image 2: {png}: size: dataset says 200x128 (width/height), file has 160x128' in text.stdout
    info = json.loads(run_cli('info', small_dset, '--json').stdout)
    assert info['mismatches'] == {'2': [{'fpath': str(png), 'what': 'size', 'dataset': '200x128 (width/height)',
                                         'found': '160x128'}]}


def test_info_of_a_consistent_dataset_has_no_mismatch_section(small_dset, run_cli):
    proc = run_cli('info', small_dset)
    assert proc.returncode == 0, proc.stderr
    assert 'disagree' not in proc.stdout
    assert json.loads(run_cli('info', small_dset, '--json').stdout)['mismatches'] == {}
