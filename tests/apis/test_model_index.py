"""model-index.yml and the per-folder metafiles: every config listed once,
every listed config exists and loads, results equal VIDEOMAE.md's table."""
from pathlib import Path

import pytest
import yaml
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
# published numbers (VIDEOMAE.md "Reference results"), typed in independently
PUBLISHED = {
    'videomae_vit-base_k400-finetune': {'Top 1 Accuracy': 81.5,
                                        'Top 5 Accuracy': 95.1},
    'videomae_vit-large_ssv2-finetune': {'Top 1 Accuracy': 74.3},
    'videomaev2_vit-base_k400-distilled-test': {'Top 1 Accuracy': 86.6},
    'videomae_vit-large_ava-kinetics': {'mAP': 38.7},
}


def _models():
    index = yaml.safe_load((REPO_ROOT / 'model-index.yml').read_text())
    models, seen = [], []
    for metafile in index['Import']:
        data = yaml.safe_load((REPO_ROOT / metafile).read_text())
        collections = {c['Name'] for c in data['Collections']}
        seen += collections
        for model in data['Models']:
            assert model['In Collection'] in collections, model['Name']
            models.append(model)
    # mim merges the metafiles' collections by name: the last would win
    assert len(seen) == len(set(seen)), sorted(seen)
    return models


def test_every_config_listed_once_and_loadable():
    models = _models()
    names = [m['Name'] for m in models]
    assert len(names) == len(set(names))
    listed = {m['Config'] for m in models}
    on_disk = {str(p.relative_to(REPO_ROOT)) for folder in
               ('pretrain', 'finetune', 'detection')
               for p in (REPO_ROOT / 'configs' / folder).glob('*.py')}
    assert listed == on_disk
    for model in models:
        assert Path(model['Config']).stem == model['Name']
        assert 'Weights' not in model  # mmvmae hosts none
    for config in sorted(listed)[::6]:  # a sample: loading is slow-ish
        assert 'model' in Config.fromfile(str(REPO_ROOT / config))


@pytest.mark.parametrize('name', sorted(PUBLISHED))
def test_published_results(name):
    model = next(m for m in _models() if m['Name'] == name)
    assert model['Results'][0]['Metrics'] == PUBLISHED[name]
