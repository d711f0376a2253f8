"""tools/data: list files (folder tree, SSv2, UCF101, HMDB51), resizing and
AVA frame extraction, on tiny generated data and a real clip."""
import json
import shutil

import decord
import numpy as np
import pytest

from apis.tiny_models import SHARED_VIDEOS, write_video
from .helpers import exit_in_process, ffmpeg_env, load_tool, run_tool


def _lines(path):
    return path.read_text().splitlines()


def test_folder_lists_parse_as_a_dataset(tmp_path):
    from mmvmae.datasets import VideoListDataset
    root = tmp_path / 'videos'
    for name in ('jump', 'run'):
        (root / name / 'sub').mkdir(parents=True)
        for i in range(4):
            (root / name / ('sub' if i == 3 else '') / f'{name}{i}.mp4'
             ).write_bytes(b'')
    (root / 'jump' / 'notes.txt').write_text('not a video')
    run_tool('data/build_file_list.py', 'folder', str(root), '--out',
             'train.txt', '--classes-out', 'classes.txt', '--val-ratio',
             '0.25', '--val-out', 'val.txt', cwd=tmp_path)
    assert _lines(tmp_path / 'classes.txt') == ['jump', 'run']
    train, val = _lines(tmp_path / 'train.txt'), _lines(tmp_path / 'val.txt')
    assert len(train) == 6 and len(val) == 2  # one per class to val
    assert sorted(v.split()[1] for v in val) == ['0', '1']
    assert 'run/sub/run3.mp4 1' in train + val
    data = VideoListDataset(ann_file=str(tmp_path / 'train.txt'),
                            data_prefix=dict(video=str(root)), pipeline=[])
    assert {data.get_data_info(i)['label'] for i in range(len(data))} == {
        0, 1}
    run_tool('data/build_file_list.py', 'folder', str(root), '--out',
             'unlabeled.txt', '--unlabeled', cwd=tmp_path)
    unlabeled = VideoListDataset(ann_file=str(tmp_path / 'unlabeled.txt'),
                                 pipeline=[])
    assert len(unlabeled) == 8
    assert unlabeled.get_data_info(0)['label'] == -1
    # an error leaves the earlier lists as they were; two outputs in one file
    (root / 'run' / 'a b.mp4').write_bytes(b'')
    with pytest.raises(AssertionError, match="'run/a b.mp4' contains a "
                       'space'):
        run_tool('data/build_file_list.py', 'folder', str(root), '--out',
                 'train.txt', '--val-ratio', '0.25', '--val-out', 'val.txt',
                 cwd=tmp_path)
    assert (_lines(tmp_path / 'train.txt'), _lines(tmp_path / 'val.txt')) \
        == (train, val)
    with pytest.raises(AssertionError, match='must be different files'):
        run_tool('data/build_file_list.py', 'folder', str(root), '--out',
                 'same.txt', '--val-ratio', '0.25', '--val-out',
                 './same.txt', cwd=tmp_path)
    # a class folder without videos keeps its label, with a warning
    (root / 'run' / 'a b.mp4').unlink()
    (root / 'idle').mkdir()
    result = run_tool('data/build_file_list.py', 'folder', str(root),
                      '--out', 'with_idle.txt', '--classes-out',
                      'classes_idle.txt', cwd=tmp_path)
    assert 'warning: 1 class folder(s)' in result.stderr
    assert _lines(tmp_path / 'classes_idle.txt') == ['idle', 'jump', 'run']
    assert result.stderr.rstrip().endswith(': 0 idle')
    assert 'run/sub/run3.mp4 2' in _lines(tmp_path / 'with_idle.txt')


def test_ssv2_ucf101_hmdb51(tmp_path):
    (tmp_path / 'labels.json').write_text(json.dumps(
        {'Holding something': '0', 'Pushing something from left to right':
         '1'}))
    (tmp_path / 'train.json').write_text(json.dumps([
        dict(id='12', label='pushing cup', template='Pushing [something] '
             'from left to right', placeholders=['cup']),
        dict(id='7', label='holding pen', template='Holding [something]')]))
    run_tool('data/build_file_list.py', 'ssv2', '--ann', 'train.json',
             '--labels', 'labels.json', '--out', 'ssv2.txt', cwd=tmp_path)
    assert _lines(tmp_path / 'ssv2.txt') == ['12.webm 1', '7.webm 0']
    (tmp_path / 'bad.json').write_text(json.dumps(
        [dict(id='3', template='Dropping [something]')]))
    with pytest.raises(AssertionError, match="'Dropping something' not in"):
        run_tool('data/build_file_list.py', 'ssv2', '--ann', 'bad.json',
                 '--labels', 'labels.json', '--out', 'x.txt', cwd=tmp_path)

    ucf = tmp_path / 'ucfTrainTestlist'
    ucf.mkdir()
    (ucf / 'classInd.txt').write_text('1 ApplyEyeMakeup\n2 Archery\n')
    (ucf / 'trainlist01.txt').write_text(
        'Archery/v_Archery_g08_c01.avi 2\n'
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n')
    (ucf / 'testlist01.txt').write_text('Archery/v_Archery_g01_c01.avi\n')
    run_tool('data/build_file_list.py', 'ucf101', '--splits-dir', str(ucf),
             '--out-dir', 'lists', cwd=tmp_path)
    lists = tmp_path / 'lists'
    assert _lines(lists / 'ucf101_train_split_1_videos.txt') == [
        'Archery/v_Archery_g08_c01.avi 1',
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 0']
    assert _lines(lists / 'ucf101_val_split_1_videos.txt') == [
        'Archery/v_Archery_g01_c01.avi 1']

    hmdb = tmp_path / 'splits'
    hmdb.mkdir()
    (hmdb / 'wave_test_split1.txt').write_text('w1.avi 1\nw2.avi 2\n')
    (hmdb / 'clap_test_split1.txt').write_text('c1.avi 0\nc2.avi 1\n')
    # class names sort climb < climb_stairs, their files the other way
    (hmdb / 'climb_stairs_test_split1.txt').write_text('s1.avi 1\n')
    (hmdb / 'climb_test_split1.txt').write_text('k1.avi 1\n')
    run_tool('data/build_file_list.py', 'hmdb51', '--splits-dir', str(hmdb),
             '--out-dir', 'lists', cwd=tmp_path)
    # the names the HMDB51 configs read
    assert _lines(lists / 'hmdb51_train_split_1_videos.txt') == [
        'clap/c2.avi 0', 'climb/k1.avi 1', 'climb_stairs/s1.avi 2',
        'wave/w1.avi 3']
    assert _lines(lists / 'hmdb51_val_split_1_videos.txt') == [
        'wave/w2.avi 3']
    (hmdb / 'clap_test_split1.txt').write_text('c1.avi 01\n')
    with pytest.raises(AssertionError, match='line 1: expected'):
        run_tool('data/build_file_list.py', 'hmdb51', '--splits-dir',
                 str(hmdb), '--out-dir', 'lists', cwd=tmp_path)


def test_ssv2_mixed_templates_refused(tmp_path):
    """Some entries with a template, some without: a mixed list, which
    VideoListDataset refuses later; refused here, naming one of each."""
    (tmp_path / 'labels.json').write_text(json.dumps({'Holding something':
                                                      '0'}))
    (tmp_path / 'mixed.json').write_text(json.dumps([
        dict(id='7', template='Holding [something]'), dict(id='8'),
        dict(id='9')]))
    with pytest.raises(AssertionError, match=r'1 entries have a "template" '
                       r'\(e.g. id 7\), 2 do not \(e.g. id 8\)'):
        run_tool('data/build_file_list.py', 'ssv2', '--ann', 'mixed.json',
                 '--labels', 'labels.json', '--out', 'x.txt', cwd=tmp_path)
    assert not (tmp_path / 'x.txt').exists()


def test_resize_videos_list_into_its_own_folder(tmp_path, monkeypatch):
    """A list SRC whose DST is the videos' folder, or where an output would
    be a listed video: refused before anything is written (the sources
    would count as done); a video as SRC: a one-line error."""
    folder = tmp_path / 'rl'
    folder.mkdir()
    shutil.copy(SHARED_VIDEOS / 'test.mp4', folder / 'test.mp4')
    (folder / 'list.txt').write_text('test.mp4\n')
    (tmp_path / 'top.txt').write_text('rl/test.mp4\ntest.mp4\n')
    monkeypatch.chdir(tmp_path)
    for args, message in (
            (('rl/list.txt', 'rl'), 'DST rl is the folder of the listed '
             'videos'),
            (('rl/list.txt', 'out', '--src-root', 'rl'), None),
            (('top.txt', 'rl'), '1 output(s) would be listed videos '
             '(counted as done, or written over); choose a DST outside '
             '.:\nrl/test.mp4'),
            ((str(SHARED_VIDEOS / 'test.avi'), 'out'),
             'is not a text file; expected a folder of videos or a list')):
        if message is None:  # the same through --src-root and a link
            (tmp_path / 'out').symlink_to(folder)
            message = 'DST out is the folder of the listed videos'
        text = str(exit_in_process(monkeypatch, 'data/resize_videos.py',
                                   *args, '--short-side', '100'))
        assert text.startswith('error: ') and message in text, args
    assert sorted(p.name for p in folder.iterdir()) == ['list.txt',
                                                        'test.mp4']


def test_resize_videos_truncated_fails(tmp_path):
    """A truncated video whose header is intact decodes into a valid
    shorter one without an error: reported as failed, by both backends; a
    resume with the other backend is refused like other settings."""
    src = tmp_path / 'src'
    src.mkdir()
    data = (SHARED_VIDEOS / 'test.avi').read_bytes()
    (src / 'half.avi').write_bytes(data[:len(data) // 2])
    shutil.copy(SHARED_VIDEOS / 'test.avi', src / 'whole.avi')
    with pytest.raises(AssertionError, match='1 of 2 videos failed'):
        run_tool('data/resize_videos.py', str(src), str(tmp_path / 'cv'),
                 '--short-side', '32', '--backend', 'opencv', cwd=tmp_path)
    assert (tmp_path / 'cv' / 'failed.txt').read_text() == (
        f'{src / "half.avi"}\tRuntimeError: 77 of the 164 frames its header '
        'counts could be decoded (a truncated file?)\n')
    assert not (tmp_path / 'cv' / 'half.mp4').exists()
    assert (tmp_path / 'cv' / 'whole.mp4').is_file()
    env = ffmpeg_env(tmp_path / 'bin')
    with pytest.raises(AssertionError, match='holds videos resized with'):
        run_tool('data/resize_videos.py', str(src), str(tmp_path / 'cv'),
                 '--short-side', '32', '--backend', 'ffmpeg', cwd=tmp_path,
                 env=env)
    # the user's case: an mp4 with its index first (+faststart), cut
    import subprocess
    subprocess.run(['ffmpeg', '-loglevel', 'error', '-i',
                    str(SHARED_VIDEOS / 'test.mp4'), '-c', 'copy',
                    '-movflags', '+faststart', str(tmp_path / 'fs.mp4')],
                   env=env, check=True)
    data = (tmp_path / 'fs.mp4').read_bytes()
    (src / 'half_fs.mp4').write_bytes(data[:len(data) // 2])
    with pytest.raises(AssertionError, match='2 of 3 videos failed'):
        run_tool('data/resize_videos.py', str(src), str(tmp_path / 'ff'),
                 '--short-side', '32', '--backend', 'ffmpeg', cwd=tmp_path,
                 env=env)
    failed = (tmp_path / 'ff' / 'failed.txt').read_text().splitlines()
    assert [line.split('\t')[0] for line in failed] == [
        str(src / 'half.avi'), str(src / 'half_fs.mp4')]
    assert all('(a truncated file?)' in line for line in failed)
    assert sorted(p.name for p in (tmp_path / 'ff').glob('*.mp4')) == [
        'whole.mp4']


def test_resize_videos_parallel_resumable(tmp_path):
    src = tmp_path / 'src'
    (src / 'a').mkdir(parents=True)
    rng = np.random.default_rng(0)
    frames = np.zeros((40, 60, 100, 3), np.uint8)
    for t in range(40):  # a moving square: realistic keyframe spacing
        frames[t, 20:40, 2 * t:2 * t + 20] = rng.integers(0, 255, 3)
    write_video(src / 'a' / 'wide.mp4', frames)
    write_video(src / 'small.mp4', frames[:10, :20, :30])
    if (SHARED_VIDEOS / 'test.avi').is_file():
        shutil.copy(SHARED_VIDEOS / 'test.avi', src / 'real.avi')
    (src / 'broken.avi').write_bytes(b'RIFF0000')
    dst = tmp_path / 'dst'
    with pytest.raises(AssertionError, match='1 of .* videos failed'):
        run_tool('data/resize_videos.py', str(src), str(dst),
                 '--short-side', '32', '--num-workers', '2', cwd=tmp_path)
    assert 'broken.avi' in (dst / 'failed.txt').read_text()
    wide = decord.VideoReader(str(dst / 'a' / 'wide.mp4'))
    assert wide[0].shape == (32, 54, 3) and len(wide) == 40  # 100x60 -> 54x32
    keys = wide.get_key_indices()
    assert max(np.diff(keys + [len(wide)])) <= 16  # short GOPs
    assert decord.VideoReader(str(dst / 'small.mp4'))[0].shape == (20, 30, 3)
    if (src / 'real.avi').exists():
        real = decord.VideoReader(str(dst / 'real.mp4'))
        assert real[0].shape == (32, 42, 3) and len(real) == 164

    (src / 'broken.avi').unlink()
    stamp = (dst / 'small.mp4').stat().st_mtime_ns
    out = run_tool('data/resize_videos.py', str(src), str(dst),
                   '--short-side', '32', cwd=tmp_path).stdout
    assert 'already done; resizing 0' in out
    assert (dst / 'small.mp4').stat().st_mtime_ns == stamp
    assert not list(dst.rglob('*.part*'))
    assert not (dst / 'failed.txt').exists()  # nothing fails any more
    # a killed run's partial file is removed when the video is redone
    (dst / 'small.mp4').rename(dst / 'small.mp4.part999.mp4')
    run_tool('data/resize_videos.py', str(src), str(dst), '--short-side',
             '32', cwd=tmp_path)
    assert (dst / 'small.mp4').is_file()
    assert not list(dst.rglob('*.part*'))
    # refused before anything is written: other settings into the same DST
    # (the old outputs would count as done), a DST inside SRC (read back as
    # videos later), list paths that leave DST
    for args, message in (
            ((str(src), str(dst), '--short-side', '64'),
             'holds videos resized with'),
            ((str(src), str(src / 'small')), 'is inside SRC'),
            ((str(src), str(src)), 'is inside SRC')):
        with pytest.raises(AssertionError, match=message):
            run_tool('data/resize_videos.py', *args, cwd=tmp_path)
    assert not (src / 'small').exists()
    listed = tmp_path / 'abs.txt'
    listed.write_text(f'{src / "small.mp4"} 0\n../src/a/wide.mp4 1\n')
    with pytest.raises(AssertionError, match='2 video path.* outside'):
        run_tool('data/resize_videos.py', str(listed), str(tmp_path / 'o'),
                 cwd=tmp_path)
    assert not (tmp_path / 'o').exists()
    # two videos that would become the same .mp4: refused, nothing written
    shutil.copy(src / 'small.mp4', src / 'a' / 'wide.avi')
    with pytest.raises(AssertionError, match=r'1 output \.mp4 file\(s\) '
                       'would hold several videos'):
        run_tool('data/resize_videos.py', str(src), str(tmp_path / 'dst2'),
                 cwd=tmp_path)
    assert not (tmp_path / 'dst2').exists()


def test_extract_ava_frames(tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    frames = np.zeros((30, 32, 32, 3), np.uint8)  # 3 s at 10 fps
    for t in range(30):
        frames[t] = 8 * t  # brightness encodes the frame index
    write_video(videos / 'vid_A.mp4', frames)
    (videos / 'vid_B.mkv').write_bytes(b'broken')
    out = tmp_path / 'frames'
    with pytest.raises(AssertionError, match='1 of 2 videos failed'):
        run_tool('data/extract_ava_frames.py', str(videos), str(out),
                 '--start', '1', '--duration', '1', '--fps', '5',
                 '--num-workers', '1', cwd=tmp_path)
    import cv2
    images = sorted((out / 'vid_A').glob('img_*.jpg'))
    assert [p.name for p in images] == [f'img_{k:05d}.jpg'
                                        for k in range(1, 6)]
    for k, path in enumerate(images):
        source = round((1 + k / 5) * 10)  # second 1 + k/5 at 10 fps
        assert abs(cv2.imread(str(path)).mean() - 8 * source) < 4
    assert (out / 'vid_A' / '.done').is_file()
    assert 'vid_B.mkv' in (out / 'failed.txt').read_text()
    (videos / 'vid_B.mkv').unlink()
    again = run_tool('data/extract_ava_frames.py', str(videos), str(out),
                     cwd=tmp_path).stdout
    assert '1 already done; extracting 0' in again
    assert not (out / 'failed.txt').exists()  # nothing fails any more
    # a window the video does not cover fails (a truncated download)
    with pytest.raises(AssertionError, match='the video ends at second 3: '
                       '15 of 30 frames'):
        run_tool('data/extract_ava_frames.py', str(videos),
                 str(tmp_path / 'short'), '--already-cut', '--duration', '6',
                 '--fps', '5', cwd=tmp_path)
    assert not (tmp_path / 'short' / 'vid_A' / '.done').exists()
    # two videos of one id: refused before anything is written
    write_video(videos / 'vid_A.avi', frames)
    with pytest.raises(AssertionError, match=r'1 frame folder\(s\) would '
                       'hold several videos'):
        run_tool('data/extract_ava_frames.py', str(videos),
                 str(tmp_path / 'clash'), cwd=tmp_path)
    assert not (tmp_path / 'clash').exists()


def test_extract_ava_frames_ffmpeg_writing_nothing_fails(
        tmp_path, monkeypatch):
    """ffmpeg exits 0 without a frame when the video ends before --start:
    that video must fail, not be marked done with an empty folder."""
    import os
    tool = load_tool('data/extract_ava_frames.py')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'ffmpeg').write_text('#!/bin/sh\nexit 0\n')
    (bin_dir / 'ffmpeg').chmod(0o755)
    monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    (tmp_path / 'short.mp4').write_bytes(b'')
    error = tool.extract_one('short.mp4', str(tmp_path), str(tmp_path /
                             'out'), 900., 3., 30., None, 'ffmpeg')
    assert error.endswith('RuntimeError: no frame at or after second 900')
    assert not (tmp_path / 'out' / 'short' / tool.DONE).exists()


def test_ffmpeg_backend(tmp_path):
    """Both tools through a real ffmpeg (``--backend ffmpeg``, what ``auto``
    picks on most machines): sizes, keyframe spacing, the frames a window
    holds, and a broken file listed as failed."""
    env = ffmpeg_env(tmp_path / 'bin')
    src = tmp_path / 'src'
    src.mkdir()
    frames = np.zeros((40, 60, 100, 3), np.uint8)  # 4 s at 10 fps
    for t in range(40):  # brightness encodes the frame index
        frames[t] = 6 * t
    write_video(src / 'wide.mp4', frames)
    write_video(src / 'small.mp4', frames[:10, :20, :30])
    (src / 'broken.avi').write_bytes(b'RIFF0000')
    dst = tmp_path / 'dst'
    with pytest.raises(AssertionError, match='1 of 3 videos failed'):
        run_tool('data/resize_videos.py', str(src), str(dst), '--backend',
                 'ffmpeg', '--short-side', '32', '--keyint', '8', cwd=tmp_path,
                 env=env)
    assert 'ffmpeg failed' in (dst / 'failed.txt').read_text()
    wide = decord.VideoReader(str(dst / 'wide.mp4'))
    assert wide[0].shape == (32, 54, 3) and len(wide) == 40
    assert wide.get_key_indices() == list(range(0, 40, 8))
    assert abs(wide[25].asnumpy().mean() - 6 * 25) < 4
    assert decord.VideoReader(str(dst / 'small.mp4'))[0].shape == (20, 30, 3)
    out = tmp_path / 'frames'
    with pytest.raises(AssertionError, match='1 of 2 videos failed'):
        run_tool('data/extract_ava_frames.py', str(dst), str(out), '--start',
                 '1', '--duration', '2', '--fps', '5', '--short-side', '16',
                 '--backend', 'ffmpeg', cwd=tmp_path, env=env)
    # the 1-s video ends before the window: said so, not ffmpeg's noise
    assert (out / 'failed.txt').read_text().endswith(
        'small.mp4\tRuntimeError: no frame at or after second 1\n')
    import cv2
    images = sorted((out / 'wide').glob('img_*.jpg'))
    assert len(images) == 10
    for k, path in enumerate(images):
        image = cv2.imread(str(path))
        assert image.shape == (16, 28, 3)  # short side 16; 27 to even
        source = round((1 + k / 5) * 10)  # second 1 + k/5 at 10 fps
        assert abs(image.mean() - 6 * source) < 4, (k, image.mean())
    assert (out / 'wide' / '.done').is_file()


def test_batch_job_helpers():
    """A sibling folder that shares DST's name as a prefix is outside it;
    a job returning '' succeeded."""
    from mmvmae.utils.batch_jobs import outputs_or_exit, run_jobs
    with pytest.raises(SystemExit, match='outside out'):
        outputs_or_exit(['../out_x/a.mp4'], lambda p: 'out/' + p, 'files',
                        'hint', inside='out')
    assert outputs_or_exit(['a/b.mp4'], lambda p: 'out/' + p, 'files',
                           'hint', inside='out') == {'out/a/b.mp4': 'a/b.mp4'}
    assert run_jobs(lambda item: '' if item else 'bad', [1, 0, 1]) == [
        'bad']


def test_video_backend_choice(monkeypatch):
    """``--backend``: auto is ffmpeg where it is on PATH, else OpenCV; asking
    for a missing ffmpeg is a clear error."""
    from mmvmae.utils import batch_jobs
    monkeypatch.setattr(batch_jobs.shutil, 'which', lambda name: None)
    assert batch_jobs.video_backend('auto') == 'opencv'
    assert batch_jobs.video_backend('opencv') == 'opencv'
    with pytest.raises(SystemExit, match='ffmpeg is not on PATH'):
        batch_jobs.video_backend('ffmpeg')
    monkeypatch.setattr(batch_jobs.shutil, 'which',
                        lambda name: '/usr/bin/' + name)
    assert batch_jobs.video_backend('auto') == 'ffmpeg'
    assert batch_jobs.video_backend('ffmpeg') == 'ffmpeg'
