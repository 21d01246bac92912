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
