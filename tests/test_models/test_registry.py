# Copyright (c) mmsepvit contributors. All rights reserved.
import os
import subprocess
import sys

import pytest
from cli_helpers import run_tools

# End to end: fresh interpreters.
pytestmark = pytest.mark.slow

HOSTS = ['mmpretrain', 'mmseg', 'mmdet']


def _run(code, **env):
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True,
                            text=True,
                            env=dict(os.environ, **env))
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_scoped_name_builds_without_importing_mmsepvit():
    # A process per toolbox, none of which imported mmsepvit beforehand.
    results = run_tools([['-c', f"""
import sys
from mmengine.registry import init_default_scope
from {scope}.registry import MODELS
init_default_scope('{scope}')
model = MODELS.build(dict(type='mmsepvit.SepViT', arch='lite'))
print(type(model).__module__, 'mmsepvit' in sys.modules)
"""] for scope in HOSTS], '.')
    for scope, (code, out) in zip(HOSTS, results):
        assert code == 0, (scope, out[-3000:])
        assert out.split()[-2:] == [
            'mmsepvit.models.backbones.sepvit', 'True'
        ], (scope, out[-3000:])


def test_bare_name_builds_once_mmsepvit_is_imported():
    out = _run("""
import mmsepvit
from mmengine.registry import init_default_scope
for scope in ('mmpretrain', 'mmseg', 'mmdet'):
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS'])
    model = registry.MODELS.build(dict(type='SepViT', arch='lite'))
    print(type(model).__name__)
""")
    assert out.split() == ['SepViT'] * 3


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


def test_bare_names_switched_off_leave_the_toolboxes_alone():
    """MMSEPVIT_BARE_NAMES=0: no import hook, no bare names in the host
    registries or mmpretrain's model hub; scoped names still build."""
    out = _run("""
import sys
import mmsepvit
from mmengine.registry import init_default_scope
from mmpretrain.apis import list_models
from mmseg.registry import MODELS
init_default_scope('mmseg')
print('SepViT' in MODELS.module_dict, list_models('sepvit*'),
      type(MODELS.build(dict(type='mmsepvit.SepViT', arch='lite'))).__name__,
      any('mmsepvit' in type(f).__module__ for f in sys.meta_path))
""", MMSEPVIT_BARE_NAMES='0')
    assert out.split() == ['False', '[]', 'SepViT', 'False'], out
