"""tools/data/check_videos.py: unreadable videos listed, a clean list written,
on the shared real videos and broken copies of them."""
import runpy
import shutil

import numpy as np
import pytest
from tool_process import run_python

from .helpers import REPO_ROOT, exit_in_process

SHARED = REPO_ROOT.parent / 'shared' / 'data' / 'videos'
TOOL = REPO_ROOT / 'tools' / 'data' / 'check_videos.py'
check_video = runpy.run_path(str(TOOL))['check_video']


def run(*args, cwd):
    return run_python(TOOL, *args, cwd=cwd, timeout=300)


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / 'videos'
    folder.mkdir()
    for name in ('arm_wrestling.mp4', 'test.mp4'):
        shutil.copy(SHARED / name, folder / name)
    data = (SHARED / 'test.mp4').read_bytes()
    (folder / 'truncated.mp4').write_bytes(data[:len(data) // 3])
    (folder / 'empty.mp4').write_bytes(b'')
    (folder / 'text.mp4').write_text('not a video\n')
    return folder


def test_list_file(videos, tmp_path):
    lines = ['arm_wrestling.mp4 0', 'truncated.mp4 1', 'test.mp4 1',
             'empty.mp4 0', 'text.mp4 1', 'missing.mp4 0']
    listing = tmp_path / 'train.txt'
    listing.write_text('\n'.join(lines) + '\n\n')
    result = run(str(listing), '--data-prefix', str(videos), '--out-dir',
                 str(tmp_path / 'out'), '--num-workers', '2', cwd=tmp_path)
    assert result.returncode == 1
    assert '4 of 6 videos are unreadable' in result.stderr
    failed = (tmp_path / 'out' / 'failed.txt').read_text().splitlines()
    assert [line.split('\t')[0] for line in failed] == [
        str(videos / name) for name in ('empty.mp4', 'missing.mp4',
                                        'text.mp4', 'truncated.mp4')]
    assert 'missing.mp4\tFileNotFoundError' in failed[1]
    # the list without them, the other lines as written; the original kept
    assert (tmp_path / 'out' / 'train.txt').read_text() == \
        'arm_wrestling.mp4 0\ntest.mp4 1\n\n'
    assert listing.read_text() == '\n'.join(lines) + '\n\n'
    # all readable (CRLF lines, one worker, every frame): exit 0, the same
    # list byte for byte, and the earlier run's failed.txt is gone
    good = tmp_path / 'good.txt'
    good.write_bytes(b'test.mp4\r\narm_wrestling.mp4  \r\n')
    result = run(str(good), '--data-prefix', str(videos), '--out-dir',
                 str(tmp_path / 'out'), '--full', '--num-workers', '1',
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '2 of 2 videos read; the list (all kept)' in result.stdout
    assert (tmp_path / 'out' / 'good.txt').read_bytes() == good.read_bytes()
    assert not (tmp_path / 'out' / 'failed.txt').exists()
    result = run(str(good), '--data-prefix', str(videos), '--out-dir',
                 str(good), cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.strip().endswith(
        f'error: --out-dir {good} is a file, not a folder')


def test_config_dataset_through_wrappers(videos, tmp_path, monkeypatch):
    (tmp_path / 'data').mkdir()
    shutil.move(str(videos), tmp_path / 'data' / 'clips')
    (tmp_path / 'data' / 'val.txt').write_text('test.mp4 0\nempty.mp4 1\n')
    config = tmp_path / 'cfg.py'
    config.write_text(
        "val_dataloader = dict(dataset=dict(type='RepeatedSamplingDataset', "
        "num_repeats=2, dataset=dict(type='VideoListDataset', "
        "data_root='data', ann_file='val.txt', "
        "data_prefix=dict(video='clips'), pipeline=[])))\n"
        # the list's own format: a delimiter, several labels
        "test_dataloader = dict(dataset=dict(type='VideoListDataset', "
        "ann_file='data/multi.csv', data_prefix=dict(video='data/clips'), "
        "delimiter=',', multi_class=True, num_classes=3, pipeline=[]))\n")
    (tmp_path / 'data' / 'multi.csv').write_text(
        'test.mp4,0,2\ntext.mp4,1,2\narm_wrestling.mp4,1\n')
    result = run(str(config), '--split', 'val', cwd=tmp_path)
    assert result.returncode == 1
    assert (tmp_path / 'check_videos' / 'failed.txt').read_text() \
        .startswith('data/clips/empty.mp4\t')
    assert (tmp_path / 'check_videos' / 'val.txt').read_text() == \
        'test.mp4 0\n'
    result = run(str(config), '--split', 'test', '--out-dir', 'o', cwd=tmp_path)
    assert result.returncode == 1
    assert (tmp_path / 'o' / 'multi.csv').read_text() == \
        'test.mp4,0,2\narm_wrestling.mp4,1\n'
    # no data_prefix: mmaction2's default, the videos under data_root
    plain = tmp_path / 'plain.py'
    plain.write_text(
        "train_dataloader = dict(dataset=dict(type='VideoListDataset', "
        "data_root='data/clips', ann_file='../val.txt', pipeline=[]))\n")
    result = run(str(plain), '--out-dir', 'p', cwd=tmp_path)
    assert result.returncode == 1
    assert (tmp_path / 'p' / 'failed.txt').read_text().startswith(
        'data/clips/empty.mp4\t')
    # wrong uses: one-line errors before any video is read
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'data' / 'bad.txt').write_text('a.mp4 zero\n')
    for args, message in [
            ((str(config), ), 'has no train_dataloader'),
            ((str(config), '--split', 'val', '--data-prefix', 'x'),
             '--data-prefix is for a list file'),
            (('data/val.txt', '--data-prefix', 'data/clips', '--out-dir',
              'data'), 'holds the list itself'),
            (('nothing.txt', ), 'no list file at nothing.txt'),
            (('data/failed.txt', ), 'named failed.txt'),
            (('data/bad.txt', ), "label 'zero' is not an int")]:
        (tmp_path / 'data' / 'failed.txt').write_text('test.mp4\n')
        text = str(exit_in_process(monkeypatch, 'data/check_videos.py',
                                   *args))
        assert text.startswith('error: ') and message in text, args


class FakeReader:
    """decord.VideoReader of 100 frames that fails on frames in ``bad``."""
    bad = range(0)

    def __init__(self, path, num_threads=1):
        pass

    def __len__(self):
        return 100

    def get_batch(self, frames):
        if any(i in self.bad for i in frames):
            raise RuntimeError('Error decoding frame\nmore')
        return np.zeros((len(frames), 4, 4, 3), np.uint8)  # has .shape


def test_full_decodes_every_frame(monkeypatch, tmp_path):
    import decord
    monkeypatch.setattr(decord, 'VideoReader', FakeReader)
    path = tmp_path / 'v.mp4'
    path.write_bytes(b'x')
    FakeReader.bad = range(70, 72)  # damage between the middle and the end
    assert check_video(str(path)) is None
    assert check_video(str(path), full=True) == \
        f'{path}\tRuntimeError: Error decoding frame'
    FakeReader.bad = range(99, 100)  # a truncated end
    assert check_video(str(path)).endswith('Error decoding frame')


def test_list_never_overwritten_through_links(tmp_path, monkeypatch):
    """An --out-dir that is the list's folder through a symlink, or whose
    cleaned list would be a hard link of the list, is refused (the list kept
    byte for byte); a binary "list" (a video) is a one-line error naming it."""
    data = tmp_path / 'data'
    data.mkdir()
    listing = data / 'list.txt'
    listing.write_text('test.mp4 0\nmissing.mp4 1\n')
    (tmp_path / 'link').symlink_to(data)
    (tmp_path / 'hard').mkdir()
    (tmp_path / 'hard' / 'list.txt').hardlink_to(listing)
    monkeypatch.chdir(tmp_path)
    for out_dir in ('link', 'hard'):
        text = str(exit_in_process(monkeypatch, 'data/check_videos.py',
                                   'data/list.txt', '--out-dir', out_dir))
        assert text.startswith('error: ') and 'holds the list itself' in \
            text, out_dir
    assert listing.read_text() == 'test.mp4 0\nmissing.mp4 1\n'
    text = str(exit_in_process(monkeypatch, 'data/check_videos.py',
                               str(SHARED / 'test.avi')))
    assert text == (f'error: {SHARED / "test.avi"} is not a text file; '
                    'expected a list of video paths (or a config)')
