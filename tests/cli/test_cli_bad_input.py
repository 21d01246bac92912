"""Issue 14, CLI rows: a json that is not a kwcoco dataset and bad syntax each print one line and exit non-zero."""
import json

import pytest

from ndsampler.cli.main import main


@pytest.mark.parametrize('content', [{'foo': 1}, [1, 2]])
@pytest.mark.parametrize('command', ['info', 'show', 'bench'])
def test_json_that_is_not_a_dataset(tmp_path, capsys, command, content):
    fpath = tmp_path / 'x.json'
    fpath.write_text(json.dumps(content))
    assert main([command, str(fpath)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f'ndsampler {command}: error:') and 'x.json' in err[0]


@pytest.mark.parametrize('argv', [['info', '--bogus', '1'], ['bogus'], ['prepare', '--bogus', '1']])
def test_bad_syntax_is_one_line_with_a_help_hint(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith('--help)') and 'error:' in err[0]


@pytest.mark.parametrize('argv, expect', [
    (['show', '{D}', '--out', '{T}/a_file.txt/x.png'], "a_file.txt' is a file, not a folder"),
    (['show', '{D}', '--out', '{T}'], 'is a folder'),
    (['prepare', '{D}', '--workers', '99999999999999999999'], 'invalid workers=99999999999999999999'),
    (['bench', '{D}', '--backends', ''], "invalid backends=''"),
    (['bench', '{D}', '--plans', ''], "invalid plans=''"),
    (['bench', '{D}', '--plans', 'random,bogus'], "invalid plans='random,bogus'"),
    (['info', '{D}', '--backends', ''], "invalid backends=''"),
    (['show', '{D}', '--channels', 'r||g', '--out', '{T}/x.png'], "invalid channel spec 'r||g' at position 2"),
])
def test_bad_values_are_one_line_and_exit_1(small_dset, tmp_path, capsys, argv, expect):
    dataset = str(small_dset)
    (tmp_path / 'a_file.txt').write_text('x')
    argv = [a.replace('{D}', dataset).replace('{T}', str(tmp_path)) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expect in err[0]


def test_bad_int_syntax_is_one_line(small_dset, capsys):
    assert main(['prepare', str(small_dset), '--workers', 'x']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid int value: 'x'" in err[0]
