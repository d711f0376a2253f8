"""tools/dist_test.sh on 2 CPU processes (gloo) against tools/test.py in one:
each rank tests its share of the videos (the sampler pads the last share by
repeating a video); the gathered predictions, in dataset order and without
the padding, must be the single process's."""
import pickle
import subprocess

import torch

from tool_process import run_python, succeeded

from .helpers import REPO_ROOT, SINGLE_PROCESS_ENV, env

FINETUNE = REPO_ROOT / 'configs/finetune/videomae_vit-tiny_demo-finetune.py'


def test_two_processes_dump_what_one_process_dumps(tmp_path, tiny_demo):
    from mmvmae.apis import init_model
    torch.manual_seed(0)
    model = init_model(FINETUNE, device='cpu')
    # weights no fresh build has (a seeded init would equal a seeded one),
    # with a classifier that tells the videos apart
    state = {key: value + 0.2 * torch.randn_like(value)
             if value.is_floating_point() else value
             for key, value in model.state_dict().items()}
    checkpoint = tmp_path / 'model.pth'
    torch.save(dict(state_dict=state), checkpoint)
    options = ['--cfg-options', f'test_dataloader.dataset.data_root='
               f'{tiny_demo}', 'test_dataloader.dataset.indices=3',
               'test_dataloader.num_workers=0']  # 3 videos: rank 1 padded

    one = tmp_path / 'one.pkl'
    succeeded(run_python(REPO_ROOT / 'tools/test.py', FINETUNE, checkpoint,
                         '--work-dir', tmp_path / 'w1', '--dump', one,
                         *options, cwd=tmp_path, env=SINGLE_PROCESS_ENV,
                         timeout=300))
    two = tmp_path / 'two.pkl'
    log = succeeded(subprocess.run(
        ['bash', str(REPO_ROOT / 'tools/dist_test.sh'), str(FINETUNE),
         str(checkpoint), '2', '--work-dir', str(tmp_path / 'w2'), '--dump',
         str(two), *options], cwd=tmp_path, env=env(), capture_output=True,
        text=True, timeout=300))
    assert 'world size: 2' in log.stdout + log.stderr

    with open(one, 'rb') as f:
        single = pickle.load(f)
    with open(two, 'rb') as f:
        gathered = pickle.load(f)
    assert len(single) == len(gathered) == 3
    scores = [r['pred_score'] for r in single]
    assert min((a - b).abs().max() for a in scores for b in scores
               if a is not b) > 1e-6  # the order below is checkable
    for a, b in zip(single, gathered):
        assert int(a['gt_label']) == int(b['gt_label'])
        torch.testing.assert_close(b['pred_score'], a['pred_score'],
                                   rtol=0, atol=1e-5)
    # ... and they are the checkpoint's: the API on the same 3 videos
    from mmvmae.apis import inference_recognizer
    loaded = init_model(FINETUNE, str(checkpoint), device='cpu')
    videos = [line.split()[0] for line in
              (tiny_demo / 'val.txt').read_text().splitlines()[:3]]
    for result, video in zip(single, videos):
        expected = inference_recognizer(loaded, str(tiny_demo / video))
        torch.testing.assert_close(result['pred_score'],
                                   expected.pred_score, rtol=0, atol=1e-5)
