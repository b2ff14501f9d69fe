# Copyright (c) mmsepvit contributors. All rights reserved.
"""The documentation stays true: every relative link and anchor resolves,
every tools/ and configs/ path and model name a code block names exists,
the demos' figures agree between the README, the metafiles and the config
pages, and the pages tell no story of runs."""
import itertools
import re
from pathlib import Path

import pytest
from mmengine.fileio import load

from mmsepvit.apis import load_model_index

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted([REPO / 'README.md', *(REPO / 'docs').rglob('*.md'),
                *(REPO / 'configs').glob('*/README.md')])
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')
FENCE = re.compile(r'^```[^\n]*\n(.*?)^```', re.S | re.M)
PATH = re.compile(r'(?<![\w/])((?:tools|configs|demo)/[\w{},./*-]+)')
SCOPED_CONFIG = re.compile(r'mmsepvit::([\w{},./-]+\.py)')
MODEL_NAME = re.compile(r"'([a-z0-9_]*sepvit-[a-z0-9_]+)'")


def page_id(page):
    return str(page.relative_to(REPO))


def anchors(page):
    """GitHub's anchors of a Markdown file's headings."""
    text = FENCE.sub('', page.read_text())
    return {
        re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')
        for heading in re.findall(r'^#+ (.+)$', text, re.M)
    }


def expand(pattern):
    """``a_{x,y}.py`` -> ``a_x.py``, ``a_y.py``."""
    parts = re.split(r'\{([^}]*)\}', pattern)
    choices = [[p] if i % 2 == 0 else p.split(',')
               for i, p in enumerate(parts)]
    return [''.join(c) for c in itertools.product(*choices)]


def broken_links(page):
    broken = []
    for target in LINK.findall(FENCE.sub('', page.read_text())):
        if re.match(r'[a-z]+:', target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition('#')
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == '.md' and anchor not in anchors(file):
            broken.append(target)
    return broken


@pytest.mark.parametrize('page', PAGES, ids=page_id)
def test_links_and_anchors_resolve(page):
    assert broken_links(page) == []


def test_a_broken_link_is_found(tmp_path):
    page = tmp_path / 'page.md'
    (tmp_path / 'other.md').write_text('# A heading\n')
    page.write_text('# Here\n[a](other.md#a-heading) [b](#here) '
                    '[c](missing.md) [d](other.md#nothing) [e](#nowhere)\n'
                    '```\n[f](not-a-link.md)\n```\n')
    assert broken_links(page) == [
        'missing.md', 'other.md#nothing', '#nowhere'
    ]


def missing_paths(text):
    """tools/, configs/, demo/ and mmsepvit:: paths of the code blocks in
    ``text`` that name no file of the repository."""
    missing = []
    for block in FENCE.findall(text):
        paths = PATH.findall(block) + [
            'configs/' + p for p in SCOPED_CONFIG.findall(block)
        ]
        for path in paths:
            for one in expand(path.rstrip('.')):
                if not list(REPO.glob(one)):
                    missing.append(one)
    return missing


@pytest.mark.parametrize('page', PAGES, ids=page_id)
def test_paths_and_model_names_in_code_blocks_exist(page):
    text = page.read_text()
    assert missing_paths(text) == []
    names = load_model_index()
    unknown = [
        name for block in FENCE.findall(text)
        for name in MODEL_NAME.findall(block) if name not in names
    ]
    assert unknown == []


def test_a_missing_path_is_found():
    text = ('```shell\npython tools/train.py configs/seg/nothing.py\n'
            "_base_ = 'mmsepvit::seg/upernet_sepvit_s_ade20k.py'\n"
            "_base_ = 'mmsepvit::seg/upernet_sepvit_x_ade20k.py'\n"
            'configs/cls/sepvit_{t,q}_in1k.py\n```\n')
    assert missing_paths(text) == [
        'configs/seg/nothing.py', 'configs/cls/sepvit_q_in1k.py',
        'configs/seg/upernet_sepvit_x_ade20k.py'
    ]


def demo_results():
    """(metafile, model, metric, value) of every demo config."""
    for metafile in sorted((REPO / 'configs').glob('*/metafile.yml')):
        for model in load(str(metafile))['Models']:
            if 'demo' not in model['Name']:
                continue
            for result in model.get('Results', []):
                for metric, value in result['Metrics'].items():
                    yield metafile, model, metric, value


def table_rows(page):
    return [
        line for line in page.read_text().splitlines()
        if line.startswith('|')
    ]


@pytest.mark.parametrize(
    'metafile,model,metric,value',
    list(demo_results()),
    ids=lambda x: x if isinstance(x, str) else None)
def test_demo_figures_agree_everywhere(metafile, model, metric, value):
    figure = f'{value:.2f}'.rstrip('0').rstrip('.')
    config = Path(model['Config']).name
    page = metafile.parent / 'README.md'
    row, = [r for r in table_rows(page) if f']({config})' in r]
    assert figure in row, (page_id(page), figure, row)
    task = {
        'cls': 'classification',
        'seg': 'segmentation',
        'det': 'detection'
    }[metafile.parent.name]
    readme = [
        r for r in table_rows(REPO / 'README.md') if r.startswith(f'| {task}')
    ]
    assert any(figure in r for r in readme), (task, figure, readme)


STORY = re.compile(
    r'issue #|the run before|that hour|one run went|by hand on|'
    r'this session|sessions before', re.I)


@pytest.mark.parametrize(
    'page', [p for p in PAGES if 'reports' not in p.parts], ids=page_id)
def test_pages_tell_no_story_of_runs(page):
    assert STORY.findall(page.read_text()) == []


def test_the_readme_is_a_first_five_minutes():
    lines = (REPO / 'README.md').read_text().splitlines()
    assert len(lines) <= 250
    sections = [line[3:] for line in lines if line.startswith('## ')]
    assert sections == [
        'Installation', 'Run the demo', 'The backbone in your own config',
        'Train and test on real data', 'Model zoo', 'Documentation', 'Tests',
        'Citation', 'Licence'
    ]
