# Copyright (c) mmsepvit contributors. All rights reserved.
"""mmsepvit's registries, in the ``mmsepvit`` scope.

Configs of any host toolbox name ``type='mmsepvit.SepViT'`` (or
``'mmsepvit.ResumableCheckpointHook'``, ...): mmengine imports this module
for the scope and ``mmsepvit.models`` (``mmsepvit.engine``,
``mmsepvit.datasets``) from ``locations`` the first time such a name is
looked up. The host toolboxes'
own registries never hold mmsepvit's classes.
"""
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
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
TRANSFORMS = _registry('transform', MMENGINE_TRANSFORMS, 'mmsepvit.datasets')


def register_config_package() -> None:
    """Make mmengine resolve ``mmsepvit::`` configs and model names.

    mmengine 0.10.7 resolves ``_base_ = 'pkg::path'`` (and inferencers'
    model names) only for packages in its ``MODULE2PACKAGE`` table and has no
    API to add one, so mmsepvit adds its own entry (as other OpenMMLab
    extensions do). The configs are found under ``mmsepvit/.mim/configs``.
    """
    MODULE2PACKAGE.setdefault('mmsepvit', 'mmsepvit')
