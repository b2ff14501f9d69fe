# Copyright (c) mmsepvit contributors. All rights reserved.
"""Importing mmsepvit defines its registries (scope ``mmsepvit``) and makes
two changes a user needs: mmengine loads local checkpoint files safely
(:func:`mmsepvit.utils.register_safe_loader`) and resolves ``mmsepvit::``
configs (:func:`mmsepvit.registry.register_config_package`)."""
from .registry import register_config_package
from .utils import register_safe_loader
from .version import __version__, version_info

register_safe_loader()
register_config_package()

__all__ = ['__version__', 'version_info']
