# Copyright (c) mmsepvit contributors. All rights reserved.
from .registry import register_config_package, register_in_host_toolboxes
from .utils import apply_compat_shims
from .version import __version__, version_info


def _register_model_names(hub_module) -> None:
    # The index is read only once mmpretrain's model hub is imported.
    from .apis.model_index import register_in_model_hub
    register_in_model_hub(hub_module.ModelHub)


apply_compat_shims()
register_config_package()
register_in_host_toolboxes({'mmpretrain.apis.model': _register_model_names})

__all__ = ['__version__', 'version_info']
