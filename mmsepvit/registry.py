# Copyright (c) mmsepvit contributors. All rights reserved.
"""mmsepvit's registries and their link to the host toolboxes.

Configs of any host toolbox can name ``type='mmsepvit.SepViT'`` (or
``'mmsepvit.ResumableCheckpointHook'``): mmengine imports this module for the
``mmsepvit`` scope and ``mmsepvit.models`` (``mmsepvit.engine``) from
``locations`` the first time the key is looked up.

For the bare ``type='SepViT'`` (``constructor=
'LayerDecayOptimWrapperConstructor'``), :func:`register_in_host_toolboxes`
also puts mmsepvit's models (optimizer-wrapper constructors) into the
registries of mmpretrain, mmsegmentation and mmdetection, each at the moment
its registry module is imported (at once if it already is). Importing a
toolbox is slow and mmdet / mmseg need compiled mmcv ops, so mmsepvit never
imports one itself: an import hook (a ``sys.meta_path`` finder) runs the
registration right after the toolbox's registry module has run. Setting
``MMSEPVIT_BARE_NAMES=0`` leaves the toolboxes' registries and the import
machinery alone; the scoped names keep working.
"""
import importlib.abc
import importlib.machinery
import os
import sys
from typing import Callable, Dict, Optional

from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import Registry


def _registry(name: str, parent: Registry, location: str) -> Registry:
    """A registry of mmsepvit's scope under mmengine's ``parent``."""
    return Registry(
        name, parent=parent, scope='mmsepvit', locations=[location])


MODELS = _registry('model', MMENGINE_MODELS, 'mmsepvit.models')
HOOKS = _registry('hook', MMENGINE_HOOKS, 'mmsepvit.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _registry('optimizer wrapper constructor',
                                       MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                       'mmsepvit.engine')
OPTIM_WRAPPERS = _registry('optim_wrapper', MMENGINE_OPTIM_WRAPPERS,
                           'mmsepvit.engine')

# What the host toolboxes get under bare names: registry attribute -> ours.
SHARED_REGISTRIES = dict(
    MODELS=MODELS,
    OPTIM_WRAPPER_CONSTRUCTORS=OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS=OPTIM_WRAPPERS)


def _register_in(host_registry_module) -> None:
    for attribute, registry in SHARED_REGISTRIES.items():
        registry.import_from_location()
        host_registry = getattr(host_registry_module, attribute)
        for name, module in registry.module_dict.items():
            if name not in host_registry.module_dict:
                host_registry.register_module(name=name, module=module)


# Host modules and what runs right after each is imported: the registries
# get mmsepvit's classes (mmsepvit/__init__.py adds mmpretrain's model hub).
ON_HOST_IMPORT: Dict[str, Callable] = {
    'mmpretrain.registry': _register_in,
    'mmseg.registry': _register_in,
    'mmdet.registry': _register_in,
}
BARE_NAMES_ENV = 'MMSEPVIT_BARE_NAMES'


class _RegisteringLoader(importlib.abc.Loader):
    """Runs a host module, then its :data:`ON_HOST_IMPORT` callback."""

    def __init__(self, loader, on_import):
        self.loader = loader
        self.on_import = on_import

    def __getattr__(self, name):
        # get_source, get_filename, ... for tracebacks and inspect.
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.on_import(module)


class _HostRegistryFinder(importlib.abc.MetaPathFinder):
    """Hands the host registry modules to :class:`_RegisteringLoader`."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in ON_HOST_IMPORT:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisteringLoader(spec.loader,
                                             ON_HOST_IMPORT[fullname])
        return spec


def register_config_package() -> None:
    """Make mmengine resolve ``mmsepvit::`` configs and model names.

    mmengine 0.10.7 resolves ``_base_ = 'pkg::path'`` (and inferencers'
    model names) only for packages in its ``MODULE2PACKAGE`` table and has no
    API to add one, so mmsepvit adds its own entry (as other OpenMMLab
    extensions do). The configs are found under ``mmsepvit/.mim/configs``.
    """
    MODULE2PACKAGE.setdefault('mmsepvit', 'mmsepvit')


def register_in_host_toolboxes(
        more: Optional[Dict[str, Callable]] = None) -> None:
    """Make ``type='SepViT'`` build from the MODELS registry of every host
    toolbox, now or when the toolbox is imported, unless the environment
    sets ``MMSEPVIT_BARE_NAMES=0``. Idempotent.

    Args:
        more (dict, optional): More host modules and what to run right
            after each is imported (with the module). Defaults to None.
    """
    if os.environ.get(BARE_NAMES_ENV, '1') == '0':
        return
    ON_HOST_IMPORT.update(more or {})
    for name, on_import in ON_HOST_IMPORT.items():
        if name in sys.modules:
            on_import(sys.modules[name])
    if not any(isinstance(f, _HostRegistryFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _HostRegistryFinder())
