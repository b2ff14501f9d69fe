# Copyright (c) mmsepvit contributors. All rights reserved.
import subprocess
import sys

import pytest

HOSTS = ['mmpretrain', 'mmseg', 'mmdet']


def _run(code):
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize('scope', HOSTS)
def test_scoped_name_builds_without_importing_mmsepvit(scope):
    out = _run(f"""
import sys
from mmengine.registry import init_default_scope
from {scope}.registry import MODELS
init_default_scope('{scope}')
model = MODELS.build(dict(type='mmsepvit.SepViT', arch='lite'))
print(type(model).__module__, 'mmsepvit' in sys.modules)
""")
    assert out.split() == ['mmsepvit.models.backbones.sepvit', 'True']


@pytest.mark.parametrize('scope', HOSTS)
def test_bare_name_builds_once_mmsepvit_is_imported(scope):
    out = _run(f"""
import mmsepvit
from mmengine.registry import init_default_scope
from {scope}.registry import MODELS
init_default_scope('{scope}')
print(type(MODELS.build(dict(type='SepViT', arch='lite'))).__name__)
""")
    assert out.strip() == 'SepViT'


def test_bare_name_when_the_toolbox_was_imported_first():
    out = _run("""
from mmseg.registry import MODELS
import mmsepvit
print('SepViT' in MODELS.module_dict)
""")
    assert out.strip() == 'True'


def test_import_mmsepvit_imports_no_toolbox():
    out = _run("""
import sys
import mmsepvit
from mmsepvit.models import SepViT
print(sorted({m.split('.')[0] for m in sys.modules
              if m.split('.')[0] in ('mmpretrain', 'mmseg', 'mmdet')}))
""")
    assert out.strip() == '[]'
