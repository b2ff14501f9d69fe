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


def test_import_changes_nothing_but_the_checkpoint_loader_and_config_package():
    """After ``import mmsepvit`` (models and engine included), every
    function, class and class attribute of mmengine, mmcv, torch and the
    toolboxes is the object it was, their registries hold what they held
    and the import machinery is unchanged; mmengine's local-file checkpoint
    loader is mmsepvit's and ``mmsepvit::`` resolves. A config that names
    ``mmsepvit.SepViT`` builds it without putting it in a host registry."""
    out = _run("""
import inspect, sys
import mmengine.registry, mmengine.runner.checkpoint as checkpoint
from mmengine.config.utils import MODULE2PACKAGE
import mmpretrain.registry, mmseg.registry, mmdet.registry
# What mmsepvit builds on registers its own classes when imported.
import mmcv.cnn.bricks.transformer, mmcv.ops

HOST_REGISTRIES = (mmengine.registry, mmpretrain.registry, mmseg.registry,
                   mmdet.registry)
PACKAGES = ('mmengine', 'mmcv', 'torch', 'mmpretrain', 'mmseg', 'mmdet')
def objects():
    seen = {}
    for name, module in list(sys.modules.items()):
        if name.split('.')[0] not in PACKAGES or module is None:
            continue
        for key, value in list(vars(module).items()):
            seen[name, key] = id(value)
            if inspect.isclass(value) and value.__module__ == name:
                for attr, member in list(vars(value).items()):
                    seen[name, key, attr] = id(member)
    return seen
def registries():
    return {(m, k): sorted(v.module_dict) for m in HOST_REGISTRIES
            for k, v in vars(m).items()
            if isinstance(v, mmengine.registry.Registry)}

before, held, finders = objects(), registries(), list(sys.meta_path)
packages = dict(MODULE2PACKAGE)
schemes = dict(checkpoint.CheckpointLoader._schemes)
import mmsepvit, mmsepvit.models, mmsepvit.engine
after = objects()
# register_scheme replaces the table of schemes; 'schemes' compares them.
loaders = ('mmengine.runner.checkpoint', 'CheckpointLoader', '_schemes')
changed = sorted(str(k) for k in before
                 if after.get(k) != before[k] and k != loaders)
print('changed', changed)
print('registries', registries() == held,
      'meta_path', sys.meta_path == finders)
print('packages',
      {k: v for k, v in MODULE2PACKAGE.items() if packages.get(k) != v})
now = checkpoint.CheckpointLoader._schemes
print('schemes', sorted(k for k, v in now.items() if schemes.get(k) is not v),
      now[''].__module__)

from mmengine.registry import init_default_scope
init_default_scope('mmseg')
model = mmseg.registry.MODELS.build(dict(type='mmsepvit.SepViT', arch='lite'))
# (building imports mmseg's models into mmseg's registries)
ours = [name for m in HOST_REGISTRIES
        for registry in vars(m).values()
        if isinstance(registry, mmengine.registry.Registry)
        for name, cls in registry.module_dict.items()
        if cls.__module__.startswith('mmsepvit')]
print('built', type(model).__name__, ours)
""")
    lines = dict(line.split(' ', 1) for line in out.strip().splitlines())
    assert lines['changed'] == '[]', lines['changed']
    assert lines['registries'] == 'True meta_path True'
    assert lines['packages'] == "{'mmsepvit': 'mmsepvit'}"
    assert lines['schemes'] == "[''] mmsepvit.utils.safe_checkpoint"
    assert lines['built'] == 'SepViT []'


def test_mmpretrains_hub_has_the_model_names_once_registered():
    out = _run("""
import mmpretrain
import mmsepvit.apis
print(mmpretrain.list_models('sepvit*'))
mmsepvit.apis.register_in_model_hub()
ours = mmsepvit.apis.list_models('sepvit-*')
print(mmpretrain.list_models('sepvit*') == ours)
""")
    assert out.split('\n')[:2] == ['[]', 'True'], out


def test_import_mmsepvit_imports_no_toolbox():
    out = _run("""
import sys
import mmsepvit
from mmsepvit.models import SepViT
print(sorted({m.split('.')[0] for m in sys.modules
              if m.split('.')[0] in ('mmpretrain', 'mmseg', 'mmdet')}))
""")
    assert out.strip() == '[]'
