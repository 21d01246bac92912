"""Bad input: one ``ndsampler <cmd>: error: ...`` line on stderr and a non-zero exit; tracebacks only under -v."""
import pytest

from ndsampler.cli._common import error_line, format_table, parse_backend, parse_dims, parse_ids
from ndsampler.errors import InvalidOptionError, UnknownIdError


def _only_error_line(proc, command):
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f'ndsampler {command}: error: ')
    return lines[0]


def test_missing_dataset(run_cli, tmp_path):
    for command in ('prepare', 'info', 'show', 'bench'):
        line = _only_error_line(run_cli(command, tmp_path / 'nope.json'), command)
        assert 'nope.json' in line and 'does not exist' in line


def test_bad_options(small_dset, run_cli):
    line = _only_error_line(run_cli('prepare', small_dset, '--backend', 'gzip'), 'prepare')
    assert "'gzip'" in line and "'cog', 'npy'" in line
    line = _only_error_line(run_cli('prepare', small_dset, '--image-ids', '1', '77'), 'prepare')
    assert 'unknown image id 77' in line
    for flags in (['--workers', '-3'], ['--workers=-1', '--dry-run']):
        line = _only_error_line(run_cli('prepare', small_dset, *flags), 'prepare')
        assert 'workers=-' in line and 'an int in [0, 1024]' in line
    assert not (small_dset.parent / '_cache').exists()
    line = _only_error_line(run_cli('show', small_dset, '--mode', 'sideways'), 'show')
    assert "'sideways'" in line and "'grid'" in line
    line = _only_error_line(run_cli('show', small_dset, '--window', '0,5'), 'show')
    assert "'0,5'" in line


def test_unreadable_dataset_and_verbose_traceback(run_cli, tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text('{not json')
    _only_error_line(run_cli('info', bad), 'info')
    proc = run_cli('info', bad, '-v')
    assert proc.returncode == 1
    assert 'Traceback' in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith('ndsampler info: error: cannot read kwcoco dataset')


def test_no_command_and_bad_syntax(run_cli):
    assert run_cli().returncode != 0
    proc = run_cli('prepare', '--no-such-flag')
    assert proc.returncode == 2
    assert 'ndsampler prepare: error:' in proc.stderr
    assert run_cli('--version').stdout.strip()


def test_helpers():
    assert parse_dims('64,32') == (64, 32) and parse_dims('8') == (8, 8) and parse_dims((3, 4)) == (3, 4)
    with pytest.raises(InvalidOptionError):
        parse_dims('a,b')
    assert parse_ids(None, [1, 2]) is None
    assert parse_ids(['1,2', '3'], [1, 2, 3]) == [1, 2, 3]
    with pytest.raises(UnknownIdError):
        parse_ids(['4'], [1, 2, 3])
    assert parse_backend('NONE') is None and parse_backend('cog') == 'cog'
    assert format_table([('a', 1), ('bbb', 22)], header=('k', 'v')).splitlines() == ['k    v', '---  --', 'a    1',
                                                                                     'bbb  22']
    assert error_line('x', ValueError('boom')) == 'ndsampler x: error: ValueError: boom'
    assert error_line('x', UnknownIdError('unknown image id 3')) == 'ndsampler x: error: unknown image id 3'
