"""tools/convert_checkpoint.py and DST: checked before converting, never
the source, an existing one only with --overwrite, written atomically."""
import pytest
import torch
from convert_helpers import run_tool
from test_original import original_finetune

HEADS = ['--num-heads', '4']


@pytest.fixture
def src(tmp_path):
    """A training checkpoint: weights plus optimizer state."""
    path = tmp_path / 'ft.pth'
    torch.save(dict(module=original_finetune(), optimizer=dict(step=3)), path)
    return path


def test_dst_is_src_is_refused(tmp_path, src):
    before = src.read_bytes()
    for dst in (str(src), str(tmp_path / '.' / 'ft.pth')):
        result = run_tool(src, dst, '--overwrite', *HEADS)
        assert result.returncode == 1, result.stdout
        assert 'error: ' in result.stderr and 'would replace the source' in \
            result.stderr and 'Traceback' not in result.stderr
    assert src.read_bytes() == before
    # a file the source is read with (an HF directory's weights) too
    result = run_tool(src, tmp_path / 'hf', '--to', 'hf', *HEADS)
    assert result.returncode == 0, result.stderr
    result = run_tool(tmp_path / 'hf', tmp_path / 'hf' / 'model.safetensors',
                      '--overwrite')
    assert result.returncode == 1 and 'would replace the source' in \
        result.stderr


def test_existing_dst_needs_overwrite(tmp_path, src, tool_main, capsys):
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'keep me')
    assert tool_main([str(src), str(dst)] + HEADS) == 1
    assert 'exists; pass --overwrite' in capsys.readouterr().err
    assert dst.read_bytes() == b'keep me'
    assert tool_main([str(src), str(dst), '--overwrite'] + HEADS) == 0
    assert 'module' not in torch.load(dst, weights_only=True)


def test_dst_checked_before_converting(tmp_path, tool_main, capsys):
    """An unconvertible source: the DST error comes first, not the layout
    error after the work."""
    torch.save({'conv.weight': torch.ones(1)}, tmp_path / 'garbage.pth')
    (tmp_path / 'out.pth').write_bytes(b'x')
    assert tool_main([str(tmp_path / 'garbage.pth'),
                      str(tmp_path / 'out.pth')]) == 1
    err = capsys.readouterr().err
    assert 'exists' in err and 'unknown checkpoint layout' not in err


def test_missing_folders_are_created(tmp_path, src, tool_main):
    dst = tmp_path / 'a' / 'b' / 'out.pth'
    assert tool_main([str(src), str(dst)] + HEADS) == 0
    assert torch.load(dst, weights_only=True)['meta']['arch']['depth'] == 2
    assert tool_main([str(src), str(tmp_path / 'c' / 'hf'), '--to', 'hf']
                     + HEADS) == 0
    assert sorted(p.name for p in (tmp_path / 'c' / 'hf').iterdir()) == \
        ['config.json', 'model.safetensors']
    assert sorted(p.name for p in (tmp_path / 'c').iterdir()) == ['hf']


@pytest.mark.parametrize('to,dst,message', [
    ('mmvmae', 'folder', 'is a directory; --to mmvmae writes a .pth'),
    ('hf', 'file.pth', 'is not a directory; --to hf writes a directory'),
    ('hf', 'folder', 'non-empty directory; pass --overwrite'),
    ('mmvmae', 'file.pth/out.pth', 'file.pth is not a directory'),
    ('mmvmae', 'new/', 'is a directory; --to mmvmae writes a .pth'),
])
def test_wrong_kind_of_dst(tmp_path, src, tool_main, capsys, to, dst,
                           message):
    (tmp_path / 'folder').mkdir()
    (tmp_path / 'folder' / 'notes.txt').write_text('keep')
    (tmp_path / 'file.pth').write_bytes(b'keep')
    assert tool_main([str(src), f'{tmp_path}/{dst}', '--to', to] +
                     HEADS) == 1  # a string: pathlib drops a final '/'
    assert message in capsys.readouterr().err
    assert (tmp_path / 'file.pth').read_bytes() == b'keep'
    assert sorted(p.name for p in (tmp_path / 'folder').iterdir()) == \
        ['notes.txt']
    assert not (tmp_path / 'new').exists()


def test_hf_overwrite_keeps_other_files(tmp_path, src, tool_main, capsys):
    out = tmp_path / 'hf'
    out.mkdir()
    (out / 'README.md').write_text('mine')
    (out / 'config.json').write_text('{}')
    assert tool_main([str(src), str(out), '--to', 'hf', '--overwrite'] +
                     HEADS) == 0
    assert "also holds ['README.md']" in capsys.readouterr().out
    assert (out / 'README.md').read_text() == 'mine'
    assert '"hidden_size": 32' in (out / 'config.json').read_text()


def test_failed_write_leaves_dst_intact(tmp_path, src, tool_main, capsys,
                                        monkeypatch):
    """Atomic: a write that fails half-way leaves the old DST and no stray
    temporary file."""
    from mmvmae.convert import output

    def broken_save(obj, path):
        with open(path, 'wb') as f:
            f.write(b'half')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(output.torch, 'save', broken_save)
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'old')
    assert tool_main([str(src), str(dst), '--overwrite'] + HEADS) == 1
    assert 'error: cannot write' in capsys.readouterr().err
    assert dst.read_bytes() == b'old'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ft.pth',
                                                          'out.pth']


@pytest.mark.parametrize('to,dst,message', [
    ('mmvmae', 'o.safetensors', '--to mmvmae writes a torch checkpoint '
     '(.pth), not .safetensors; name it .pth, or pass --to hf'),
    ('mmvmae', 'o.json', 'not .json'),
    ('hf', 'o.pth', '--to hf writes a folder (config.json and '
     'model.safetensors in it), not a .pth file'),
    ('hf', 'o.safetensors', 'not a .safetensors file; give a folder name'),
])
def test_dst_named_for_the_other_format_is_refused(tmp_path, src, tool_main,
                                                   capsys, to, dst, message):
    """A .safetensors DST of --to mmvmae was a torch pickle the tool could
    not read back ("header too large")."""
    assert tool_main([str(src), str(tmp_path / dst), '--to', to] +
                     HEADS) == 1
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ft.pth']
