# Copyright (c) mmsepvit contributors. All rights reserved.
"""mmsepvit's registries and their link to the host toolboxes.

Configs of any host toolbox can name ``type='mmsepvit.SepViT'`` (or
``'mmsepvit.ResumableCheckpointHook'``): mmengine imports this module for the
``mmsepvit`` scope and ``mmsepvit.models`` (``mmsepvit.engine``) from
``locations`` the first time the key is looked up.

For the bare ``type='SepViT'``, :func:`register_in_host_toolboxes` also puts
mmsepvit's models into the MODELS registry of mmpretrain, mmsegmentation and
mmdetection, each at the moment its registry module is imported (at once if
it already is). Importing a toolbox is slow and mmdet / mmseg need compiled
mmcv ops, so mmsepvit never imports one itself.
"""
import importlib.abc
import importlib.machinery
import sys

from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='mmsepvit',
    locations=['mmsepvit.models'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope='mmsepvit',
    locations=['mmsepvit.engine'])

HOST_REGISTRY_MODULES = ('mmpretrain.registry', 'mmseg.registry',
                         'mmdet.registry')


def _register_in(host_registry_module) -> None:
    MODELS.import_from_location()
    for name, module in MODELS.module_dict.items():
        if name not in host_registry_module.MODELS.module_dict:
            host_registry_module.MODELS.register_module(
                name=name, module=module)


class _RegisteringLoader(importlib.abc.Loader):
    """Runs a host registry module, then registers mmsepvit's models."""

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):
        # get_source, get_filename, ... for tracebacks and inspect.
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        _register_in(module)


class _HostRegistryFinder(importlib.abc.MetaPathFinder):
    """Hands the host registry modules to :class:`_RegisteringLoader`."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in HOST_REGISTRY_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


def register_in_host_toolboxes() -> None:
    """Make ``type='SepViT'`` build from the MODELS registry of every host
    toolbox, now or when it is imported. Idempotent."""
    for name in HOST_REGISTRY_MODULES:
        if name in sys.modules:
            _register_in(sys.modules[name])
    if not any(isinstance(f, _HostRegistryFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _HostRegistryFinder())
