"""tools/infer.py on a tiny random recognizer: real and generated clips,
a clip shorter than the sampling span, an unreadable file."""
import re

import numpy as np
import pytest
import torch

from apis.tiny_models import (SHARED_VIDEOS, save_tiny, tiny_recognizer_cfg,
                              write_video)
from .helpers import exit_in_process, load_tool, run_tool


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp('infer')
    config, ckpt = save_tiny(tiny_recognizer_cfg(), folder, 'rec')
    # a classifier that tells the classes apart (its init gives ~0.25 each),
    # so that names and order are checkable
    state = torch.load(ckpt, weights_only=True)
    generator = torch.Generator().manual_seed(0)
    for key in ('cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'):
        state['state_dict'][key] = torch.randn(
            state['state_dict'][key].shape, generator=generator)
    torch.save(state, ckpt)
    labels = folder / 'labels.txt'
    labels.write_text('left\nright\nup\ndown\n')
    return folder, str(config), str(ckpt), str(labels)


def _scores(stdout: str) -> dict:
    return {name: float(score) for name, score in
            re.findall(r'^\d+\. (\S+): ([0-9.]+)$', stdout, re.M)}


def test_help():
    assert 'label-map' in run_tool('infer.py', '--help', cwd=None).stdout


def test_top_classes_match_the_api(model_files):
    from mmvmae.apis import inference_recognizer, init_model
    folder, config, ckpt, labels = model_files
    rng = np.random.default_rng(0)
    short = write_video(folder / 'short.mp4',
                        rng.integers(0, 256, (5, 36, 60, 3), np.uint8))
    out = run_tool('infer.py', str(short), config, ckpt, '--label-map',
                   labels, cwd=folder).stdout
    scores = _scores(out)
    assert set(scores) == {'left', 'right', 'up', 'down'}  # top-5 of 4
    expected = inference_recognizer(init_model(config, ckpt, 'cpu'),
                                    str(short)).pred_score
    assert float(expected.max() - expected.min()) > 0.05
    for index, name in enumerate(['left', 'right', 'up', 'down']):
        assert abs(scores[name] - float(expected[index])) < 1e-4
    assert list(scores.values()) == sorted(scores.values(), reverse=True)


def test_real_clip_and_top_k(model_files):
    folder, config, ckpt, _ = model_files
    clip = SHARED_VIDEOS / 'test.avi'
    if not clip.is_file():
        pytest.skip(f'real test clip not found at {clip}')
    out = run_tool('infer.py', str(clip), config, ckpt, '--top-k', '2',
                   cwd=folder).stdout
    assert len(_scores(out)) == 2 and set(_scores(out)) <= {'0', '1', '2',
                                                            '3'}


def test_unreadable_video_and_bad_label_map_fail_clearly(model_files):
    folder, config, ckpt, _ = model_files
    broken = folder / 'broken.mp4'
    broken.write_bytes(b'\x00' * 100)
    with pytest.raises(AssertionError, match='error: video: cannot decode'):
        run_tool('infer.py', str(broken), config, ckpt, cwd=folder)
    bad_map = folder / 'three.txt'
    bad_map.write_text('a\nb\nc\n')
    video = write_video(folder / 'ok.mp4',
                        np.zeros((4, 32, 32, 3), np.uint8))
    with pytest.raises(AssertionError, match='has 3 names.*4 classes'):
        run_tool('infer.py', str(video), config, ckpt, '--label-map',
                 str(bad_map), cwd=folder)


def test_bad_device_and_config_are_one_line_errors(model_files, monkeypatch):
    """'meta' was "Cannot copy out of meta tensor", 'mps' (torch without
    it) a RuntimeError, a config with a syntax error a SyntaxError."""
    folder, config, ckpt, _ = model_files
    video = write_video(folder / 'dev.mp4', np.zeros((4, 32, 32, 3),
                                                     np.uint8))
    for device in ('meta', 'mps'):
        message = str(exit_in_process(monkeypatch, 'infer.py', str(video),
                                      config, ckpt, '--device', device))
        assert message.startswith(f"error: device '{device}' is not "
                                  "available here; use one of 'cpu'")
    bad = folder / 'bad.py'
    bad.write_text('x = (\n')
    assert str(exit_in_process(monkeypatch, 'infer.py', str(video),
                               str(bad), ckpt)) == \
        f"error: config {bad}: syntax error in line 1: '(' was never closed"


@pytest.mark.parametrize('top_k', ['0', '-1'])
def test_top_k_below_one_is_refused(monkeypatch, top_k):
    """--top-k counts the classes printed: 0 or less would print none."""
    assert str(exit_in_process(
        monkeypatch, 'infer.py', 'clip.mp4', 'rec.py', 'rec.pth',
        '--top-k', top_k)) == 'error: --top-k must be >= 1'


def test_label_map_trailing_blank_lines_add_no_class(tmp_path):
    """A label map ending in blank lines (or with Windows line ends) holds
    the same classes as without them."""
    tool = load_tool('infer.py')
    labels = tmp_path / 'labels.txt'
    labels.write_bytes(b'left\r\nright\r\nup\r\ndown\r\n\r\n  \n')
    assert tool.read_label_map(str(labels), 4) == [
        'left', 'right', 'up', 'down']
    with pytest.raises(ValueError, match='has 4 names, the model predicts '
                       '5 classes'):
        tool.read_label_map(str(labels), 5)
    assert tool.read_label_map(None, 3) == ['0', '1', '2']
