"""Careless command lines: each ends with exit 0, or one error line and exit 1 / 2; never a traceback."""
import kwcoco
import pytest
from hypothesis import given, strategies as st

from fuzz_settings import FUZZ
from ndsampler.cli.main import main

words = st.one_of(st.sampled_from(['--workers', '--backends', '--plans', '--window', '--num', '--mode', '--out',
                                   '--backend', '--json', '--bogus', '--repeats', '--gids', '']),  # not -v: it prints tracebacks
                  st.sampled_from(['0', '-1', 'x', '1e9', '99999999999999999999', ',', 'cog', 'npy,none', 'random',
                                   '2,2', '0,0', 'nan']),
                  st.text(alphabet='abc-=,0', max_size=4))


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('fuzz_cli')
    dset = kwcoco.CocoDataset.demo('shapes1', dpath=root, verbose=0)
    dset.fpath = str(root / 'data.kwcoco.json')
    dset.dump()
    return dset.fpath


@FUZZ
@given(command=st.sampled_from(['info', 'show', 'prepare', 'bench', 'nope']), args=st.lists(words, max_size=4))
def test_fuzzed_command_lines(dataset, tmp_path_factory, capsys, command, args):
    out = tmp_path_factory.mktemp('out')
    argv = [command, dataset, *args]
    if command == 'show':
        argv += ['--out', str(out / 'x.png')]
    if command == 'bench':
        argv += ['--num', '1', '--repeats', '1', '--backends', 'none']
    code = main(argv)
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    if code:
        lines = [line for line in err.splitlines() if 'error:' in line]
        assert code in (1, 2) and len(lines) == 1, err
