# Copyright (c) mmsepvit contributors. All rights reserved.
"""model-index.yml and the metafiles against the configs: every config is
listed once under its name, params and FLOPs are what get_flops.py counts,
the README tables say the same; mmpretrain's hub knows the names."""
import re
from pathlib import Path

import pytest
import torch
from cli_helpers import run_tools
from host_facts import CONFIG_FOLDERS, FACTS
from mmengine.config import Config
from mmengine.fileio import load
from mmengine.registry import DefaultScope

from mmsepvit.apis import (get_config_path, get_model_complexity,
                           list_models, load_model_index)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    p.relative_to(REPO) for p in (REPO / 'configs').rglob('*.py')
    if '_base_' not in p.parts)
MODELS = load_model_index()


def expected_name(config: Path) -> str:
    """sepvit_t_in1k -> sepvit-t_in1k: the variant joins the model name."""
    return config.stem.replace('sepvit_', 'sepvit-', 1)


def test_every_config_is_listed_once_under_its_name():
    listed = {
        Path(model['Config']).resolve().relative_to(REPO): name
        for name, model in MODELS.items()
    }
    assert len(listed) == len(MODELS)  # no config under two names
    assert sorted(listed) == CONFIGS
    assert all(listed[c] == expected_name(c) for c in CONFIGS)
    assert list_models('sepvit-*_in1k') == [
        'sepvit-b_in1k', 'sepvit-lite_in1k', 'sepvit-s_in1k', 'sepvit-t_in1k'
    ]


def test_index_imports_one_metafile_per_host_toolbox():
    index = load(str(REPO / 'model-index.yml'))
    assert index['Import'] == [
        f'configs/{folder}/metafile.yml' for folder in CONFIG_FOLDERS
    ]
    for facts in FACTS.values():
        for folder in facts.folders:
            metafile = load(str(REPO / 'configs' / folder / 'metafile.yml'))
            collections = {c['Name']: c for c in metafile['Collections']}
            for collection in collections.values():
                assert (REPO / collection['README']).is_file()
            for model in metafile['Models']:
                assert model['In Collection'] in collections
                assert 'Weights' not in model  # none trained yet
                for result in model.get('Results', []):
                    assert result['Task'] in facts.tasks


@pytest.mark.slow
def test_params_and_flops_are_what_get_flops_counts():
    counted = {}
    for config in CONFIGS:
        cfg = Config.fromfile(str(REPO / config))
        key = (cfg.default_scope, repr(cfg.model.to_dict()))
        if key not in counted:  # 1x and 3x schedules: one model
            counted[key] = get_model_complexity(cfg)
        metadata = MODELS[expected_name(config)]['Metadata']
        assert metadata['Parameters'] == counted[key].params, config
        assert metadata['FLOPs'] == counted[key].flops, config


def _readme_rows(folder):
    """{config path: (params M, FLOPs G)} from configs/<folder>/README.md."""
    text = (REPO / 'configs' / folder / 'README.md').read_text()
    rows = {}
    for line in text.splitlines():
        config = re.search(r'\]\((\w+\.py)\)', line)
        if line.startswith('|') and config:
            cells = [c.strip() for c in line.strip('|').split('|')]
            rows[f'configs/{folder}/{config.group(1)}'] = (
                float(cells[1]), float(cells[2]))
    return rows


def test_readme_tables_say_what_the_metafiles_say():
    for folder in CONFIG_FOLDERS:
        rows = _readme_rows(folder)
        configs = [str(c) for c in CONFIGS if c.parts[1] == folder]
        assert sorted(rows) == configs
        for config, (params, flops) in rows.items():
            metadata = MODELS[expected_name(Path(config))]['Metadata']
            assert params == round(metadata['Parameters'] / 1e6, 2), config
            assert flops == round(metadata['FLOPs'] / 1e9, 2), config


def test_names_work_in_mmpretrain(tmp_path):
    import mmpretrain
    from mmpretrain.apis import ImageClassificationInferencer

    from mmsepvit.apis import register_in_model_hub
    register_in_model_hub()
    assert set(mmpretrain.list_models('sepvit*')) == set(
        list_models('sepvit-*'))
    # Weights of the Lite model saved by the user: get_model loads them.
    model = mmpretrain.get_model('sepvit-lite_in1k')
    torch.manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_()
    checkpoint = tmp_path / 'lite.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    loaded = mmpretrain.get_model(
        'sepvit-lite_in1k', pretrained=str(checkpoint))
    for name, param in loaded.state_dict().items():
        assert torch.equal(param, model.state_dict()[name]), name

    # Earlier tests of this process leave another default scope behind.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        inferencer = ImageClassificationInferencer(
            'sepvit-lite_in1k', pretrained=str(checkpoint))
        image = torch.randint(0, 256, (96, 96, 3), dtype=torch.uint8)
        prediction, = inferencer(image.numpy())
    for name, param in inferencer.model.state_dict().items():
        assert torch.equal(param, model.state_dict()[name]), name
    assert 0 <= prediction['pred_label'] < 1000


def test_unknown_names_are_refused_with_close_ones():
    with pytest.raises(ValueError, match='did you mean sepvit-t_in1k'):
        get_config_path('sepvit-t_in1')
    assert get_config_path('sepvit-t_in1k') == MODELS['sepvit-t_in1k'][
        'Config']


@pytest.mark.slow
def test_get_flops_counts_a_model_by_its_name(tmp_path):
    tool = REPO / 'tools' / 'analysis' / 'get_flops.py'
    config = MODELS['sepvit-lite_in1k']['Config']
    (name_code, by_name), (path_code, by_path) = run_tools(
        [[tool, 'sepvit-lite_in1k'], [tool, REPO / config]], tmp_path)
    assert name_code == path_code == 0, by_name + by_path
    counts = [
        re.findall(r'^(?:FLOPs|Params).*$', out, re.M)
        for out in (by_name, by_path)
    ]
    assert counts[0] == counts[1] and len(counts[0]) == 2, counts
