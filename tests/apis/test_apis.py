"""mmvmae.apis on tiny models: checked against mmaction2's own inference,
manual view averaging, a manual encoder pass and the reconstruction
formula of the normalised-pixel target."""
import os
import runpy
import sys

import decord
import numpy as np
import pytest
import torch
from mmaction.apis import inference_recognizer as mmaction_inference
from mmengine.dataset import Compose

from mmvmae.apis import (VideoReadError, extract_features,
                         inference_recognizer, init_model, reconstruct)
from .tiny_models import (REPO_ROOT, SHARED_VIDEOS, save_tiny,
                          tiny_pretrain_cfg, tiny_recognizer_cfg, write_video)

MEAN = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1, 1)


@pytest.fixture(scope='module')
def recognizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp('rec')
    config, ckpt = save_tiny(tiny_recognizer_cfg(), folder, 'rec')
    return init_model(str(config), str(ckpt), device='cpu')


@pytest.fixture(scope='module')
def pretrainer(tmp_path_factory):
    folder = tmp_path_factory.mktemp('pre')
    config, ckpt = save_tiny(tiny_pretrain_cfg(), folder, 'pre')
    return init_model(str(config), str(ckpt), device='cpu')


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (20, 48, 80, 3), dtype=np.uint8)
    return write_video(tmp_path_factory.mktemp('v') / 'clip.mp4', frames)


def test_init_model_loads_exact_weights(tmp_path):
    config, ckpt = save_tiny(tiny_recognizer_cfg(), tmp_path, 'rec')
    model = init_model(str(config), str(ckpt), device='cpu')
    saved = torch.load(ckpt, weights_only=True)['state_dict']
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, saved[key])
    assert not model.training and model.cfg.model.type == 'Recognizer3D'


def test_init_model_rejects_checkpoint_of_other_config(tmp_path):
    _, ckpt = save_tiny(tiny_recognizer_cfg(), tmp_path, 'rec')
    wider = tiny_recognizer_cfg()
    wider.model.backbone.arch.embed_dims = 64
    wider.model.cls_head.in_channels = 64
    # the whole width differs: no num_classes hint
    with pytest.raises(ValueError, match=r'rec\.pth does not fit the model: '
                       r'backbone\..*: checkpoint \(32, .*\) vs model '
                       r'\(64, '):
        init_model(wider, str(ckpt), device='cpu')
    with pytest.raises(FileNotFoundError, match='no file or work dir'):
        init_model(wider, str(tmp_path / 'missing.pth'), device='cpu')


def test_init_model_names_a_bad_device(tmp_path):
    # tools/infer.py etc. turn the ValueError into "error: ..." (it was an
    # AssertionError traceback from torch for --device cuda on a CPU build)
    config, ckpt = save_tiny(tiny_recognizer_cfg(), tmp_path, 'rec')
    with pytest.raises(ValueError, match="'gpu' is not a device"):
        init_model(str(config), str(ckpt), device='gpu')
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='CUDA is not available'):
            init_model(str(config), str(ckpt), device='cuda:0')


def test_check_device_accepts_only_devices_this_machine_has(monkeypatch):
    """'meta' (no data: "Cannot copy out of meta tensor"), 'mps' on a torch
    without it, or 'cuda:5' on a 1-GPU machine were accepted."""
    from mmvmae.apis.model_init import check_device
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
    monkeypatch.setattr(torch.backends.mps, 'is_available', lambda: False)
    for device in ('cpu', 'cuda', 'cuda:0', torch.device('cuda:0')):
        assert check_device(device) == torch.device(device)
    accepted = "use one of 'cpu', 'cuda', 'cuda:0'"
    with pytest.raises(ValueError, match=f"'cuda:5': this machine has 1 GPU; "
                       f'{accepted}$'):
        check_device('cuda:5')
    for device in ('meta', 'mps', 'privateuseone'):
        with pytest.raises(ValueError, match=f"'{device}' is not available "
                           f'here; {accepted}$'):
            check_device(device)
    with pytest.raises(ValueError, match="'cuda:x' is not a device.*"
                       + accepted):
        check_device('cuda:x')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available on this "
                       "machine; use one of 'cpu'$"):
        check_device('cuda:0')


def test_init_model_names_a_config_that_does_not_load(tmp_path):
    (tmp_path / 'syntax.py').write_text('x = (\n')
    with pytest.raises(ValueError, match=r'^config .*syntax\.py: syntax '
                       "error in line 1: '\\(' was never closed$"):
        init_model(str(tmp_path / 'syntax.py'), device='cpu')
    (tmp_path / 'name.py').write_text('model = undefined_name\n')
    with pytest.raises(ValueError, match=r"name\.py: cannot load it "
                       r"\(NameError: name 'undefined_name' is not"):
        init_model(str(tmp_path / 'name.py'), device='cpu')
    with pytest.raises(FileNotFoundError, match='config: no file at'):
        init_model(str(tmp_path / 'none.py'), device='cpu')


def test_recognizer_matches_mmaction2_inference(recognizer, video):
    ours = inference_recognizer(recognizer, str(video)).pred_score
    pipeline = Compose(recognizer.cfg.test_dataloader.dataset.pipeline)
    theirs = mmaction_inference(recognizer, str(video), pipeline).pred_score
    torch.testing.assert_close(ours, theirs)
    # the same video as an array of decoded frames gives the same scores
    frames = decord.VideoReader(str(video))[:].asnumpy()
    torch.testing.assert_close(inference_recognizer(recognizer,
                                                    frames).pred_score, ours)


def test_a_given_pipeline_is_used(recognizer, video):
    """``pipeline=``: one clip, one centre crop, as mmaction2's inference
    with the same pipeline (not the config's 2 x 3 views)."""
    pipeline = [dict(type='DecordInit'),
                dict(type='SampleFrames', clip_len=8, frame_interval=2,
                     num_clips=1, test_mode=True),
                dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 32)),
                dict(type='CenterCrop', crop_size=32),
                dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackActionInputs')]
    ours = inference_recognizer(recognizer, str(video), pipeline).pred_score
    theirs = mmaction_inference(recognizer, str(video),
                                Compose(pipeline)).pred_score
    torch.testing.assert_close(ours, theirs)
    assert not torch.allclose(
        ours, inference_recognizer(recognizer, str(video)).pred_score)


def test_init_model_leaves_the_callers_config_alone(tmp_path):
    config, ckpt = save_tiny(tiny_recognizer_cfg(), tmp_path, 'rec')
    from mmengine.config import Config
    cfg = Config.fromfile(str(config))
    before = cfg.pretty_text
    init_model(cfg, str(ckpt), device='cpu', cfg_options={
        'model.cls_head.average_clips': 'score'})
    assert cfg.pretty_text == before


def test_recognizer_averages_softmax_over_views(recognizer, video):
    from mmvmae.apis.video_input import prepare_inputs, test_pipeline_cfg
    data = prepare_inputs(recognizer.cfg, str(video),
                          test_pipeline_cfg(recognizer.cfg))
    views = data['inputs'][0].float()  # (V, C, T, H, W) in [0, 255]
    assert views.shape[0] == 6  # 2 clips x 3 crops
    with torch.no_grad():
        logits = recognizer.cls_head(recognizer.backbone((views - MEAN) / STD))
    expected = logits.softmax(-1).mean(0)
    score = inference_recognizer(recognizer, str(video)).pred_score
    torch.testing.assert_close(score, expected, rtol=1e-4, atol=1e-5)


def test_short_video_and_odd_sizes_work(recognizer, tmp_path):
    rng = np.random.default_rng(1)
    short = write_video(tmp_path / 'short.mp4',
                        rng.integers(0, 256, (3, 30, 50, 3), dtype=np.uint8))
    assert len(decord.VideoReader(str(short))) == 3  # < 8 x 2 span
    score = inference_recognizer(recognizer, str(short)).pred_score
    assert score.shape == (4,) and torch.isclose(score.sum(), torch.tensor(1.))
    # a bytes path is a path, as for os.open (it read "no file at b'...'")
    as_bytes = inference_recognizer(recognizer, os.fsencode(short))
    torch.testing.assert_close(as_bytes.pred_score, score)
    tall = rng.integers(0, 256, (5, 90, 40, 3), dtype=np.uint8)
    assert inference_recognizer(recognizer, tall).pred_score.shape == (4,)


def test_extract_features_is_the_encoder_on_the_middle_clip(recognizer,
                                                            pretrainer):
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, (20, 64, 64, 3), dtype=np.uint8)
    # test-mode SampleFrames(8, interval 2), one clip from the middle of 20
    # frames: offset int((20 - 16 + 1) / 2) = 2
    clip = torch.from_numpy(frames[2:18:2]).permute(3, 0, 1, 2).float()
    clip = ((clip - MEAN) / STD)[None]
    np.random.seed(0)  # a sampler left in training mode would draw 4 here
    features = extract_features(recognizer, frames)
    with torch.no_grad():
        torch.testing.assert_close(features, recognizer.backbone(clip))
        tokens = extract_features(pretrainer, frames)
        torch.testing.assert_close(tokens, pretrainer.backbone(clip))
    assert features.shape == (1, 32) and tokens.shape == (1, 4 * 8 * 8, 32)
    assert extract_features(recognizer, frames, views='test').shape == (6, 32)
    with pytest.raises(ValueError, match='views must be one of'):
        extract_features(recognizer, frames, views='all')


def test_non_square_model_input(tmp_path):
    """A model built for 48x64 (H x W) frames: features and reconstruction
    crop the video to 48x64, whatever the frame shape, in (H, W) order."""
    cfg = tiny_pretrain_cfg()
    cfg.model.backbone.img_size = (48, 64)
    cfg.model.neck.num_tokens = 4 * 6 * 8
    config, ckpt = save_tiny(cfg, tmp_path, 'wide')
    model = init_model(str(config), str(ckpt), device='cpu')
    rng = np.random.default_rng(4)
    for shape in ((20, 64, 64, 3), (20, 40, 100, 3)):
        frames = rng.integers(0, 256, shape, dtype=np.uint8)
        assert extract_features(model, frames).shape == (1, 4 * 6 * 8, 32)
        result = reconstruct(model, frames, mask_ratio=0.5)
        assert result.original.shape == (8, 48, 64, 3)
        assert result.mask.shape == (4, 6, 8)
        assert result.reconstruction.shape == (8, 48, 64, 3)


def _patches(video: torch.Tensor, p: int, t: int) -> torch.Tensor:
    """(C, T, H, W) -> (N, t*p*p, C) tubelets in (t, h, w) order."""
    c, frames, h, w = video.shape
    x = video.reshape(c, frames // t, t, h // p, p, w // p, p)
    return x.permute(1, 3, 5, 2, 4, 6, 0).reshape(-1, t * p * p, c)


def test_reconstruct_follows_the_normalised_pixel_formula(pretrainer):
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (20, 64, 64, 3), dtype=np.uint8)
    state = np.random.get_state()
    result = reconstruct(pretrainer, frames, mask_ratio=0.75, seed=5)
    assert np.array_equal(np.random.get_state()[1], state[1])  # untouched
    assert result.uses_original_patch_stats
    mask = result.mask  # (4, 8, 8): tube = same spatial mask in every slot
    assert (mask == mask[:1]).all() and mask[0].sum() == int(0.75 * 64)
    assert np.array_equal(result.predicted, mask)

    original = torch.from_numpy(frames[2:18:2]).permute(3, 0, 1, 2).float()
    assert np.array_equal(result.original,
                          frames[2:18:2])  # 64x64: no resize, no crop
    flat = torch.from_numpy(mask.reshape(1, -1))
    with torch.no_grad():
        x_vis = pretrainer.backbone(((original - MEAN) / STD)[None], flat)
        pred, index, _ = pretrainer.neck(x_vis, flat, None)
    # VIDEOMAE.md: target = (x - mean) / (unbiased std + 1e-6) per patch
    patches = _patches(original / 255., 8, 2)
    mu = patches.mean(1, keepdim=True)
    sigma = patches.var(1, unbiased=True, keepdim=True).sqrt() + 1e-6
    expected = pred[0].reshape(-1, 128, 3) * sigma[index[0]] + mu[index[0]]
    got = _patches(torch.from_numpy(result.reconstruction).permute(
        3, 0, 1, 2).float(), 8, 2)
    expected = (expected * 255).clamp(0, 255).round()
    assert (got[index[0]] - expected).abs().max() <= 1
    visible = ~flat[0]
    assert torch.equal(got[visible], _patches(original, 8, 2)[visible])
    masked = _patches(torch.from_numpy(result.masked).permute(3, 0, 1, 2),
                      8, 2)
    assert (masked[flat[0]] == 128).all()
    again = reconstruct(pretrainer, frames, mask_ratio=0.75, seed=5)
    other = reconstruct(pretrainer, frames, mask_ratio=0.75, seed=6)
    assert np.array_equal(again.mask, mask)
    assert not np.array_equal(other.mask, mask)
    agnostic = reconstruct(pretrainer, frames, 0.9, mask_type='random')
    assert agnostic.mask.sum() == int(0.9 * 256)


def test_test_pipeline_is_the_one_tools_test_runs(recognizer):
    """The dataloader's pipeline, which --cfg-options change, wins over a
    stale ``test_pipeline`` variable."""
    from mmvmae.apis.video_input import test_pipeline_cfg
    cfg = recognizer.cfg.copy()
    cfg.merge_from_dict({'test_dataloader.dataset.pipeline.1.num_clips': 1})
    assert cfg.test_pipeline[1].num_clips == 2  # the variable is unchanged
    assert test_pipeline_cfg(cfg)[1].num_clips == 1


def test_single_view_pipeline_of_uniform_sampling():
    from mmengine.config import Config

    from mmvmae.apis.video_input import single_view_pipeline_cfg
    from .tiny_models import CONFIGS
    cfg = Config.fromfile(
        str(CONFIGS / 'finetune' / 'videomae_vit-base_ssv2-finetune.py'))
    steps = single_view_pipeline_cfg(cfg, (224, 224))
    sampler = next(s for s in steps if s['type'] == 'UniformSample')
    assert sampler['num_clips'] == 1 and sampler['test_mode']
    assert [s['type'] for s in steps][-3:] == [
        'CenterCrop', 'FormatShape', 'PackActionInputs']


def test_single_view_pipeline_looks_inside_wrapper_datasets():
    """A config whose only pipeline is that of the dataset a
    ``RepeatedSamplingDataset`` wraps (as the pretraining recipes)."""
    from mmengine.config import Config

    from mmvmae.apis.video_input import single_view_pipeline_cfg
    inner = dict(type='VideoListDataset', ann_file='x', pipeline=[
        dict(type='DecordInit'),
        dict(type='SampleFrames', clip_len=4, frame_interval=3,
             num_clips=1), dict(type='DecordDecode')])
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='RepeatedSamplingDataset', num_repeats=2, dataset=inner))))
    sampler = single_view_pipeline_cfg(cfg, (32, 32))[1]
    assert (sampler['type'], sampler['clip_len'], sampler['frame_interval'],
            sampler['test_mode']) == ('SampleFrames', 4, 3, True)


def test_single_view_pipeline_looks_inside_safe_video_decode():
    # pretraining configs have only a train pipeline, whose reading steps
    # are wrapped in SafeVideoDecode
    from mmengine.config import Config

    from mmvmae.apis.video_input import single_view_pipeline_cfg
    from .tiny_models import CONFIGS
    cfg = Config.fromfile(str(
        CONFIGS / 'pretrain' / 'videomae_vit-base_k400-pretrain-800e.py'))
    assert cfg.train_pipeline[0]['type'] == 'SafeVideoDecode'
    steps = single_view_pipeline_cfg(cfg, (224, 224))
    assert [s['type'] for s in steps][:3] == [
        'DecordInit', 'SampleFrames', 'DecordDecode']
    assert (steps[1]['clip_len'], steps[1]['frame_interval']) == (16, 4)


def test_clear_errors(recognizer, pretrainer, tmp_path):
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'not a video at all')
    with pytest.raises(VideoReadError, match='cannot decode'):
        inference_recognizer(recognizer, str(broken))
    with pytest.raises(FileNotFoundError, match='no file at'):
        extract_features(recognizer, str(tmp_path / 'none.mp4'))
    with pytest.raises(ValueError, match='uint8'):
        inference_recognizer(recognizer, np.zeros((4, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r'\(T, H, W, 3\)'):
        inference_recognizer(recognizer, np.zeros((4, 8, 8), np.uint8))
    # several videos in one call, or none: named as such
    with pytest.raises(ValueError, match='one video per call.*got list of '
                       'paths'):
        inference_recognizer(recognizer, [str(tmp_path / 'a.mp4')] * 2)
    with pytest.raises(ValueError, match='one video per call.*got NoneType$'):
        inference_recognizer(recognizer, None)
    # frames of several sizes: the API's message, not numpy's
    # "inhomogeneous shape"
    frames = [np.zeros((8, 8, 3), np.uint8)] * 2 + [np.zeros((8, 9, 3),
                                                             np.uint8)]
    with pytest.raises(ValueError, match=r'shape \(T, H, W, 3\) .* got '
                       r'frame 2 of shape \(8, 9, 3\) after frame 0 of '
                       r'shape \(8, 8, 3\)$'):
        inference_recognizer(recognizer, frames)
    with pytest.raises(TypeError, match='pretraining model'):
        reconstruct(recognizer, np.zeros((8, 64, 64, 3), np.uint8))
    with pytest.raises(TypeError, match='needs a recognizer'):
        inference_recognizer(pretrainer, np.zeros((8, 64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match='mask_ratio'):
        reconstruct(pretrainer, np.zeros((8, 64, 64, 3), np.uint8), 1.5)
    with pytest.raises(ValueError, match='no test or val pipeline'):
        extract_features(pretrainer, np.zeros((8, 64, 64, 3), np.uint8),
                         views='test')
    with pytest.raises(ValueError, match='mask_type'):
        reconstruct(pretrainer, np.zeros((8, 64, 64, 3), np.uint8), 0.5,
                    mask_type='block')


def test_reconstruct_names_a_mask_ratio_that_masks_nothing(
        pretrainer, tmp_path, monkeypatch):
    # 8x8 tokens per slot: 0.01 of 64 (or 0.001 of 256) is 0 masked tokens,
    # which crashed inside the model (RuntimeError) instead
    frames = np.zeros((8, 64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match='TubeMasking: mask_ratio 0.01 '
                       'masks 0 of the 64 tokens of a temporal slot'):
        reconstruct(pretrainer, frames, mask_ratio=0.01)
    with pytest.raises(ValueError, match='mask_ratio 0.001 masks 0 of the '
                       '256 tokens.*at least 1 masked and 1 visible'):
        reconstruct(pretrainer, frames, 0.001, mask_type='random')
    assert reconstruct(pretrainer, frames, 1 / 64).mask.sum() == 4
    # tools/visualize_reconstruction.py: a one-line error, no traceback
    config, ckpt = save_tiny(tiny_pretrain_cfg(), tmp_path, 'pre')
    video = write_video(tmp_path / 'v.mp4', np.zeros((20, 64, 64, 3),
                                                     np.uint8))
    monkeypatch.setattr(sys, 'argv', [
        'visualize_reconstruction.py', str(video), str(config), str(ckpt),
        '--out', str(tmp_path / 'r.png'), '--mask-ratio', '0.01',
        '--device', 'cpu'])
    with pytest.raises(SystemExit, match='^error: TubeMasking: mask_ratio '
                       '0.01 masks 0 of the 64 tokens'):
        runpy.run_path(
            str(REPO_ROOT / 'tools' / 'visualize_reconstruction.py'),
            run_name='__main__')
    assert not (tmp_path / 'r.png').exists()


def test_real_clip(recognizer, pretrainer, tmp_path):
    path = SHARED_VIDEOS / 'test.avi'
    if not path.is_file():
        pytest.skip(f'real test clip not found at {path}')
    # a truncated copy: decord 0.6.0 crashes (SIGSEGV) opening it from
    # memory as mmaction2's DecordInit does; the API opens it by path
    truncated = tmp_path / 'truncated.avi'
    data = path.read_bytes()
    truncated.write_bytes(data[:len(data) // 3])
    score = inference_recognizer(recognizer, str(truncated)).pred_score
    assert torch.isclose(score.sum(), torch.tensor(1.))
    score = inference_recognizer(recognizer, str(path)).pred_score
    assert torch.isclose(score.sum(), torch.tensor(1.))
    result = reconstruct(pretrainer, str(path), 0.9)
    assert result.original.shape == (8, 64, 64, 3)
    assert abs(result.mask.mean() - int(0.9 * 64) / 64) < 1e-6
