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
its registry module is imported (at once if it already is), and mmpretrain's
model hub learns our model names. Importing a toolbox is slow and mmdet /
mmseg need compiled mmcv ops, so mmsepvit never imports one itself.
"""
import importlib.abc
import importlib.machinery
import sys

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


def _register_model_names(hub_module) -> None:
    from mmsepvit.apis.model_index import register_in_model_hub
    register_in_model_hub(hub_module.ModelHub)


# Host modules and what runs right after each is imported: the registries
# get mmsepvit's classes, mmpretrain's model hub our model-index names.
ON_HOST_IMPORT = {
    'mmpretrain.registry': _register_in,
    'mmseg.registry': _register_in,
    'mmdet.registry': _register_in,
    'mmpretrain.apis.model': _register_model_names,
}


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


def register_in_host_toolboxes() -> None:
    """Make ``type='SepViT'`` build from the MODELS registry of every host
    toolbox and mmpretrain's ``get_model`` know our model names, now or when
    the toolbox is imported. Idempotent."""
    for name, on_import in ON_HOST_IMPORT.items():
        if name in sys.modules:
            on_import(sys.modules[name])
    if not any(isinstance(f, _HostRegistryFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _HostRegistryFinder())
