# Copyright (c) mmsepvit contributors. All rights reserved.
from .registry import register_config_package, register_in_host_toolboxes
from .utils import apply_compat_shims
from .version import __version__, version_info

apply_compat_shims()
register_config_package()
register_in_host_toolboxes()

__all__ = ['__version__', 'version_info']
